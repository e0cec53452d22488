// The CodeMirror 6 side of the OQL editor, loaded on demand with import() so none of it is
// in the first-load bundle: OQL highlighting from the tokeniser, completion of tables,
// columns, functions and map keys, Ctrl/Cmd+Enter to run, server errors as lint marks, and
// the page's CSP nonce for the styles CodeMirror injects.
import { effect } from "@preact/signals";
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, type Completion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching } from "@codemirror/language";
import { lintGutter, lintKeymap, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { Annotation, Compartment, EditorState, Prec, RangeSetBuilder } from "@codemirror/state";
import { Decoration, type DecorationSet, drawSelection, EditorView, highlightSpecialChars, keymap, lineNumbers, placeholder, ViewPlugin, type ViewUpdate } from "@codemirror/view";
import { completionSite, errorRange, FUNCTIONS, KEYWORDS, quoteString, tokenize, type TokenType } from "../../lib/oqlLanguage";
import { theme } from "../../lib/theme";
import type { EditorError } from "./errors";
import { loadColumns, loadMapKeys, loadTables, promotedKeys } from "./schema";

/** Typing over a selection is applied by CodeMirror, not the browser: Chromium keeps the
 * deleted text's look by writing `style` attributes into the line (its "typing style"),
 * which the CSP (no inline styles) blocks and reports. Composition input is left to the
 * browser. */
const replaceSelectionOnTyping = EditorView.domEventHandlers({
  beforeinput(event, view) {
    if (event.isComposing) return false;
    const typing = event.inputType === "insertText" && event.data !== null;
    const deleting = event.inputType.startsWith("delete");
    if (!typing && !deleting) return false;
    const insert = typing ? (event.data as string) : "";
    const userEvent = typing ? "input.type" : "delete.selection";
    // The DOM selection may be newer than the editor's (a select-all CodeMirror has not
    // read yet), so it decides what is replaced.
    const dom = document.getSelection();
    if (dom && dom.rangeCount && !dom.isCollapsed && view.contentDOM.contains(dom.anchorNode) && view.contentDOM.contains(dom.focusNode)) {
      const range = dom.getRangeAt(0);
      const from = view.posAtDOM(range.startContainer, range.startOffset);
      const to = view.posAtDOM(range.endContainer, range.endOffset);
      event.preventDefault();
      view.dispatch({ changes: { from, to, insert }, selection: { anchor: from + insert.length }, scrollIntoView: true, userEvent });
      return true;
    }
    if (view.state.selection.ranges.every((r) => r.empty)) return false;
    event.preventDefault();
    view.dispatch(view.state.replaceSelection(insert), { scrollIntoView: true, userEvent });
    return true;
  },
});

export interface EditorOptions {
  doc: string;
  label: string;
  onChange: (value: string) => void;
  onRun: () => void;
  placeholder?: string;
  /** The least lines of height the editor takes (it grows with its text, then scrolls). */
  minLines: number;
  /** Put the cursor here and focus (the fallback textarea had focus). */
  focusAt?: number;
}

export interface EditorHandle {
  setValue(value: string): void;
  setErrors(errors: EditorError[]): void;
  focus(): void;
  destroy(): void;
}

/** The CSP nonce the server put in the page (`__CSP_NONCE__` in dev, which has no CSP). */
function cspNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? "";
}

const CLASS: Partial<Record<TokenType, string>> = {
  keyword: "oql-kw",
  atom: "oql-atom",
  function: "oql-fn",
  string: "oql-str",
  mapKey: "oql-key",
  quotedIdent: "oql-qident",
  number: "oql-num",
  duration: "oql-num",
  param: "oql-param",
  operator: "oql-op",
  comment: "oql-comment",
  invalid: "oql-invalid",
};
const MARKS = Object.fromEntries(Object.entries(CLASS).map(([type, cls]) => [type, Decoration.mark({ class: cls })])) as Partial<Record<TokenType, Decoration>>;

function highlight(state: EditorState): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>();
  for (const t of tokenize(state.doc.toString())) {
    const mark = MARKS[t.type];
    if (mark && t.to > t.from) builder.add(t.from, t.to, mark);
  }
  return builder.finish();
}

// Queries are short (64 KiB at most), so the whole text is tokenised on each change.
const highlighter = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = highlight(view.state);
    }
    update(u: ViewUpdate) {
      if (u.docChanged) this.decorations = highlight(u.state);
    }
  },
  { decorations: (v) => v.decorations },
);

const FUNCTION_OPTIONS: Completion[] = FUNCTIONS.map((f) => ({
  label: f.name,
  type: "function",
  detail: f.signature,
  info: f.doc,
  boost: 1,
  // Leave the cursor between the parentheses.
  apply: (view, _c, from, to) => {
    const insert = f.name === "count" ? "count(*)" : `${f.name}()`;
    const cursor = f.name === "count" || f.name === "bucket" ? from + insert.length : from + f.name.length + 1;
    view.dispatch({ changes: { from, to, insert }, selection: { anchor: cursor } });
  },
}));
const KEYWORD_OPTIONS: Completion[] = KEYWORDS.map((k) => ({ label: k.toUpperCase(), type: "keyword", boost: -1 }));

async function complete(ctx: CompletionContext): Promise<CompletionResult | null> {
  const text = ctx.state.doc.toString();
  const site = completionSite(text, ctx.pos);
  if (site.kind === "none") return null;
  // Typing a space opens the list only where the next word is one of a few (a table);
  // elsewhere it waits for a letter or Ctrl+Space.
  if (!ctx.explicit && !site.prefix && site.kind !== "table" && site.kind !== "mapKey") return null;
  const quiet = <T>(p: Promise<T>, fallback: T) => p.catch(() => fallback);
  let options: Completion[] = [];
  if (site.kind === "table") {
    options = (await quiet(loadTables(), [])).map((t) => ({ label: t.name, type: "class", detail: t.kind }));
  } else if (site.kind === "keyword") {
    options = (site.keywords ?? []).map((k) => ({ label: k, type: "keyword" }));
  } else if (site.kind === "mapKey") {
    if (!site.table || (site.map !== "attributes" && site.map !== "resource")) return null;
    const map = site.map as "attributes" | "resource";
    const [keys, columns] = await Promise.all([quiet(loadMapKeys(site.table), null), quiet(loadColumns(site.table), [])]);
    const apply = (key: string) => (site.quoted ? key.replace(/'/g, "''") : `${quoteString(key)}]`);
    const list = keys ? keys[map] : [];
    const promoted = promotedKeys(columns, map);
    options = list.map((k) => ({
      label: k.key,
      type: "property",
      detail: `${k.rows} of ${keys?.sampled} rows${promoted.includes(k.key) ? " · column" : ""}`,
      apply: apply(k.key),
    }));
    // Keys stored as columns that the sampled rows did not carry still exist in the data.
    for (const key of promoted.filter((p) => !list.some((k) => k.key === p))) {
      options.push({ label: key, type: "property", detail: "column", apply: apply(key) });
    }
  } else {
    const columns = site.table ? await quiet(loadColumns(site.table), []) : [];
    options = [
      ...columns.map((c) => ({ label: c.name, type: "property", detail: c.type, info: c.metric ?? undefined, boost: 2 })),
      ...FUNCTION_OPTIONS,
      ...KEYWORD_OPTIONS,
    ];
  }
  if (ctx.aborted) return null;
  return { from: site.from, options, validFor: /^[\w.]*$/ };
}

const external = Annotation.define<boolean>();

const baseTheme = (minLines: number) =>
  EditorView.theme({
    "&": { backgroundColor: "var(--panel)", color: "var(--text)", border: "1px solid var(--border)", borderRadius: "var(--radius)", fontSize: "13px" },
    "&.cm-focused": { outline: "2px solid color-mix(in srgb, var(--accent) 60%, transparent)", outlineOffset: "1px" },
    ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.5", minHeight: `${minLines * 1.5 + 0.9}em`, maxHeight: "28em", overflow: "auto" },
    ".cm-content": { padding: "6px 0", caretColor: "var(--text)" },
    ".cm-line": { padding: "0 8px" },
    ".cm-gutters": { backgroundColor: "var(--panel-2)", color: "var(--muted)", border: "none", borderRight: "1px solid var(--border)", borderRadius: "var(--radius) 0 0 var(--radius)" },
    "&.cm-focused > .cm-scroller > .cm-cursorLayer .cm-cursor": { borderLeftColor: "var(--text)" },
    "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection": { backgroundColor: "var(--select)" },
    ".cm-placeholder": { color: "var(--muted)" },
    ".cm-tooltip": { backgroundColor: "var(--panel)", color: "var(--text)", border: "1px solid var(--border)", borderRadius: "var(--radius)" },
    ".cm-tooltip.cm-tooltip-autocomplete > ul": { fontFamily: "var(--mono)", maxHeight: "16em" },
    ".cm-tooltip.cm-tooltip-autocomplete > ul > li[aria-selected]": { backgroundColor: "var(--accent)", color: "var(--accent-text)" },
    ".cm-completionDetail": { color: "var(--muted)", fontStyle: "normal", marginLeft: "1em" },
    ".cm-tooltip.cm-tooltip-autocomplete > ul > li[aria-selected] .cm-completionDetail": { color: "inherit", opacity: "0.8" },
    ".cm-tooltip-lint": { whiteSpace: "pre-wrap", maxWidth: "40em" },
  });

export function createEditor(parent: HTMLElement, opts: EditorOptions): EditorHandle {
  const dark = new Compartment();
  const state = EditorState.create({
    doc: opts.doc,
    selection: opts.focusAt === undefined ? undefined : { anchor: Math.min(opts.focusAt, opts.doc.length) },
    extensions: [
      EditorView.cspNonce.of(cspNonce()),
      replaceSelectionOnTyping,
      EditorView.contentAttributes.of({ "aria-label": opts.label, spellcheck: "false", autocapitalize: "off", autocorrect: "off" }),
      // Ctrl/Cmd+Enter runs, ahead of the default keymap's "insert blank line".
      Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => (opts.onRun(), true), preventDefault: true }])),
      lineNumbers(),
      lintGutter(),
      highlightSpecialChars(),
      history(),
      drawSelection(),
      bracketMatching(),
      closeBrackets(),
      autocompletion({ override: [complete], icons: false }),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
      EditorView.lineWrapping,
      highlighter,
      baseTheme(opts.minLines),
      dark.of(EditorView.darkTheme.of(theme.value === "dark")),
      opts.placeholder ? placeholder(opts.placeholder) : [],
      EditorView.updateListener.of((u) => {
        if (u.docChanged && !u.transactions.some((t) => t.annotation(external))) opts.onChange(u.state.doc.toString());
      }),
    ],
  });
  const view = new EditorView({ state, parent });
  const stopTheme = effect(() => {
    const isDark = theme.value === "dark";
    view.dispatch({ effects: dark.reconfigure(EditorView.darkTheme.of(isDark)) });
  });
  if (opts.focusAt !== undefined) view.focus();
  return {
    setValue(value) {
      const current = view.state.doc.toString();
      if (value === current) return;
      const head = Math.min(view.state.selection.main.head, value.length);
      view.dispatch({ changes: { from: 0, to: current.length, insert: value }, selection: { anchor: head }, annotations: external.of(true) });
    },
    setErrors(errors) {
      const text = view.state.doc.toString();
      const diagnostics: Diagnostic[] = errors
        .filter((e) => e.line && e.column)
        .map((e) => {
          const { from, to } = errorRange(text, e.line!, e.column!);
          return { from, to, severity: "error", source: e.code, message: e.hint ? `${e.message}\nHint: ${e.hint}` : e.message };
        });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    focus: () => view.focus(),
    destroy() {
      stopTheme();
      view.destroy();
    },
  };
}
