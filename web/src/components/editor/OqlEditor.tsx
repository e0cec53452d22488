// The OQL editor every page uses for queries (query page, dashboard panels, alert rules):
// a labelled textarea at once, replaced by CodeMirror as soon as its chunk has loaded, and
// the errors of the last run under it (marked in the text at their line and column).
import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { EditorHandle } from "./codemirror";
import { editorErrors, type EditorErrors } from "./errors";
import "./editor.css";

export type { EditorError, EditorErrors } from "./errors";
export { editorErrors } from "./errors";

export interface OqlEditorProps {
  value: string;
  onChange: (value: string) => void;
  /** Ctrl/Cmd+Enter calls it. */
  onRun?: () => void;
  /** The accessible (and visible) name of the text box, e.g. "Query". */
  label: string;
  /** The last run's error: an `ApiError` from `oql()` (its line, column and hint are
   * marked in the text), any Error, or a list of `{message, line?, column?, hint?}`. */
  errors?: EditorErrors;
  placeholder?: string;
  /** The least lines of height (default 4); it grows with its text. */
  rows?: number;
  /** Keep the label for screen readers only. */
  hideLabel?: boolean;
  autoFocus?: boolean;
}

type CodeMirrorModule = typeof import("./codemirror");
// One import for every editor on the page. A failed load (a network blip, a deploy that
// replaced the chunk, Vite re-bundling in dev) is tried again a few times; until then, or
// if it never loads, the textarea does the job.
let loading: Promise<CodeMirrorModule> | null = null;
async function importWithRetry(): Promise<CodeMirrorModule> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await import("./codemirror");
    } catch (e) {
      if (attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}
const loadCodeMirror = () => (loading ??= importWithRetry().catch((e) => ((loading = null), Promise.reject(e))));

export function OqlEditor(props: OqlEditorProps) {
  const { value, label, rows = 4, hideLabel, placeholder, autoFocus } = props;
  const id = useId();
  const host = useRef<HTMLDivElement>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const handle = useRef<EditorHandle | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const sent = useRef<string | null>(null);
  const [ready, setReady] = useState(false);
  const list = editorErrors(props.errors);

  useEffect(() => {
    let gone = false;
    loadCodeMirror().then(
      (cm) => {
        if (gone || !host.current) return;
        const ta = area.current;
        const hadFocus = !!ta && document.activeElement === ta;
        handle.current = cm.createEditor(host.current, {
          doc: latest.current.value,
          label,
          minLines: rows,
          placeholder,
          onChange: (v) => {
            sent.current = v;
            latest.current.onChange(v);
          },
          onRun: () => latest.current.onRun?.(),
          focusAt: hadFocus || (autoFocus && !ta) ? (ta?.selectionStart ?? latest.current.value.length) : undefined,
        });
        setReady(true);
      },
      () => undefined,
    );
    return () => {
      gone = true;
      handle.current?.destroy();
      handle.current = null;
    };
  }, []);

  // A new value from the caller (a saved query opened, Back) replaces the text. Echoes of
  // what the editor itself reported are skipped, and the latest value is read rather than
  // this render's: a render made before the last keystroke must not undo it.
  useLayoutEffect(() => {
    const v = latest.current.value;
    if (v === sent.current || !handle.current) return;
    handle.current.setValue(v);
    sent.current = v;
  }, [value, ready]);
  // Callers may build a new list on every render: mark again only when it says otherwise.
  const errorsKey = JSON.stringify(list);
  useEffect(() => handle.current?.setErrors(list), [errorsKey, ready]);

  return (
    <div class="oql-editor">
      {/* One element type and keys throughout: the host div keeps CodeMirror's DOM, and
          Preact must never reuse it for another child when the textarea goes. */}
      <label key="label" for={ready ? undefined : id} class={`oql-label ${hideLabel ? "sr-only" : ""}`} aria-hidden={ready ? "true" : undefined} onClick={() => handle.current?.focus()}>
        {label}
      </label>
      {!ready && (
        <textarea
          key="fallback"
          id={id}
          ref={area}
          class="oql-fallback"
          rows={rows}
          value={value}
          placeholder={placeholder}
          spellcheck={false}
          autoFocus={autoFocus}
          onInput={(e) => props.onChange((e.currentTarget as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              props.onRun?.();
            }
          }}
        />
      )}
      {/* Keyed: when the label turns from <label> into a <div>, Preact must not reuse this
          div (which holds CodeMirror) for it. */}
      <div key="cm" ref={host} class="oql-cm" hidden={!ready} />
      {list.length > 0 && (
        <div key="errors" class="error-note oql-errors" role="alert">
          {list.map((e) => (
            <div class="oql-error">
              <div>
                {e.line && e.column ? <span class="oql-where">Line {e.line}, column {e.column}: </span> : null}
                {e.message}
                {e.code && <code class="code">{e.code}</code>}
              </div>
              {e.hint && <div class="oql-hint">Hint: {e.hint}</div>}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export default OqlEditor;
