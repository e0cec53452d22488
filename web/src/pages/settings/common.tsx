// Pieces the settings sections share: an action runner with busy and error state, a
// two-step confirm for destructive buttons, timestamps with their relative time, and a
// status line announced to screen readers.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ErrorNote } from "../../components/ui";
import { formatRelative, formatTimestamp } from "../../lib/format";

/** Runs an async action once at a time, keeping its error to show. `run` answers whether
 * it succeeded. */
export function useAction<A extends unknown[]>(fn: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await fn(...args);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

/** A destructive button that asks once more before acting, inline (no modal dialog). */
export function ConfirmButton(props: { label: string; question: string; confirmLabel: string; onConfirm: () => Promise<unknown> }) {
  const [asking, setAsking] = useState(false);
  const action = useAction(props.onConfirm);
  if (!asking) {
    return (
      <button type="button" class="btn small danger" onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={props.question}>
      <span class="confirm-q">{props.question}</span>
      <button
        type="button"
        class="btn small danger"
        disabled={action.busy}
        onClick={async () => {
          if (await action.run()) setAsking(false);
        }}
      >
        {props.confirmLabel}
      </button>
      <button type="button" class="btn small" onClick={() => setAsking(false)}>
        Cancel
      </button>
      <ErrorNote error={action.error} />
    </span>
  );
}

/** A time as local date and time, with "5 minutes ago" on hover. */
export function When({ at, empty = "never" }: { at: string | null | undefined; empty?: string }) {
  if (!at) return <span class="muted">{empty}</span>;
  return (
    <time dateTime={at} title={formatRelative(at)}>
      {formatTimestamp(at).slice(0, 19)}
    </time>
  );
}

/** A short success message, announced politely. */
export function Done({ children }: { children: ComponentChildren }) {
  if (!children) return null;
  return (
    <p class="done-note" role="status">
      {children}
    </p>
  );
}

/** The heading row of a section: its title, what it is for, and actions on the right. */
export function SectionHead({ title, intro, children }: { title: string; intro?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <header class="section-head">
      <div>
        <h2>{title}</h2>
        {intro && <p class="muted">{intro}</p>}
      </div>
      {children && <div class="actions">{children}</div>}
    </header>
  );
}
