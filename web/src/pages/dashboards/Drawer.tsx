// A side sheet for the dashboard editors and versions: a labelled dialog over the right of
// the page that Escape closes, with its own scrolling body and a footer of actions.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function Drawer({ title, onClose, children, footer, wide }: { title: string; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren; wide?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const esc = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !e.defaultPrevented) close.current();
    };
    document.addEventListener("keydown", esc);
    // Focus moves into the sheet so keyboard users land on its first field.
    const first = box.current?.querySelector<HTMLElement>("input, select, textarea, button:not(.dash-drawer-close)");
    first?.focus();
    return () => document.removeEventListener("keydown", esc);
  }, []);
  return (
    <div class={`dash-drawer ${wide ? "wide" : ""}`} role="dialog" aria-label={title} ref={box}>
      <header class="dash-drawer-head">
        <h2>{title}</h2>
        <button type="button" class="btn small dash-drawer-close" onClick={onClose} aria-label={`Close ${title}`}>
          ✕
        </button>
      </header>
      <div class="dash-drawer-body">{children}</div>
      {footer && <footer class="dash-drawer-foot">{footer}</footer>}
    </div>
  );
}
