// Pieces the alert and heartbeat pages share: an error line under a field (tied to it with
// aria-describedby), the props that mark a field invalid, a two-step delete button, and
// links that change some query parameters of the current URL (tabs).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { location } from "../../lib/router";

/** The current URL with some query parameters changed (`null` removes one). */
export function hrefWith(changes: Record<string, string | null>): string {
  const q = new URLSearchParams(location.value.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "") q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return location.value.path + (s ? `?${s}` : "");
}

export type Errors = Record<string, string | undefined>;

const errId = (scope: string, field: string) => `err-${scope}-${field.replace(/[^\w-]/g, "-")}`;

/** The props of an input whose field has an error: `aria-invalid` and the error's id. */
export function invalid(errors: Errors, field: string, scope = "f") {
  return errors[field] ? { "aria-invalid": true as const, "aria-describedby": errId(scope, field) } : {};
}

/** A field (or group) with its error under it. */
export function Fw({ errors, field, scope = "f", children, grow }: { errors: Errors; field: string; scope?: string; children: ComponentChildren; grow?: boolean }) {
  const message = errors[field];
  return (
    <div class={`fw${message ? " invalid" : ""}${grow ? " grow" : ""}`}>
      {children}
      {message && (
        <div class="field-error" id={errId(scope, field)}>
          {message}
        </div>
      )}
    </div>
  );
}

/** "Delete" that asks once more in place (no browser dialog, which tests and some users
 * never see). */
export function ConfirmButton({ label, confirm, onConfirm, disabled, small }: { label: string; confirm: string; onConfirm: () => void | Promise<void>; disabled?: boolean; small?: boolean }) {
  const [asking, setAsking] = useState(false);
  const cls = `btn danger${small ? " small" : ""}`;
  if (!asking)
    return (
      <button type="button" class={cls} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span class="confirm" role="group" aria-label={confirm}>
      <span class="muted">{confirm}</span>
      <button
        type="button"
        class={cls}
        onClick={async () => {
          setAsking(false);
          await onConfirm();
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" class={`btn${small ? " small" : ""}`} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
