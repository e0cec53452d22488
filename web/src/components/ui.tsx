// Small shared pieces: labelled fields, error notes, empty states, copy buttons, cards.
import type { ComponentChildren, InputHTMLAttributes, SelectHTMLAttributes, TextareaHTMLAttributes } from "preact";
import { useId, useState } from "preact/hooks";
import { ApiError } from "../lib/api";

type InputProps = InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string };

/** An input with a visible label tied to it (tests and screen readers find it by label). */
export function Field({ label, hint, ...input }: InputProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} {...input} />
      {hint && <small class="hint">{hint}</small>}
    </div>
  );
}

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & { label: string; options: (string | { value: string; label: string })[] };

export function SelectField({ label, options, ...select }: SelectProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} {...select}>
        {options.map((o: string | { value: string; label: string }) => (typeof o === "string" ? <option value={o}>{o}</option> : <option value={o.value}>{o.label}</option>))}
      </select>
    </div>
  );
}

type AreaProps = TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; hint?: string };

export function TextArea({ label, hint, ...area }: AreaProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea id={id} {...area} />
      {hint && <small class="hint">{hint}</small>}
    </div>
  );
}

/** An error from the API (or anything thrown), with its code when there is one. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="error-note" role="alert">
      {message}
      {code && <code class="code">{code}</code>}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      {label}…
    </div>
  );
}

export function Card({ title, actions, children, class: cls }: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls ?? ""}`}>
      {(title || actions) && (
        <header class="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

/** Copies `text` to the clipboard, saying so for a moment. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="btn"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // Clipboard refused (insecure context): select the text for a manual copy.
          const range = document.createRange();
          const el = document.querySelector(`[data-copy="${CSS.escape(text)}"]`);
          if (el) {
            range.selectNodeContents(el);
            getSelection()?.removeAllRanges();
            getSelection()?.addRange(range);
          }
        }
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}

/** A pill for a state: firing, ok, up, down, error... coloured by `tone`. */
export function Badge({ tone, children }: { tone: "ok" | "warn" | "bad" | "muted" | "info"; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

/** The badge tone of a state word used across alerts, heartbeats and spans. */
export function toneOf(state: string): "ok" | "warn" | "bad" | "muted" | "info" {
  switch (state) {
    case "ok":
    case "up":
    case "resolved":
    case "inactive":
      return "ok";
    case "pending":
    case "late":
    case "warn":
    case "warning":
    case "nodata":
    case "no_data":
      return "warn";
    case "firing":
    case "down":
    case "failed":
    case "error":
    case "critical":
      return "bad";
    case "paused":
    case "new":
    case "unset":
      return "muted";
    default:
      return "info";
  }
}
