// A modal dialog on the native <dialog> element: showModal() makes the page
// behind it inert; Tab is kept inside, Esc closes, and focus goes back to
// whatever opened it (or a fallback when that is gone).
import { useEffect, useId, useLayoutEffect, useRef, type ReactNode, type KeyboardEvent } from "react";

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), iframe, [tabindex]:not([tabindex="-1"])';

interface DialogProps {
  title: string;
  onClose(): void;
  children: ReactNode;
  /** Footer buttons. */
  actions?: ReactNode;
  /** Where focus goes when the dialog opens (defaults to the first field or button). */
  initialFocusRef?: React.RefObject<HTMLElement | null>;
  /** Where focus goes on close when the element that opened the dialog no longer exists. */
  fallbackFocus?: () => HTMLElement | null;
  /** Closing is blocked while work is in flight. */
  busy?: boolean;
  size?: "small" | "medium" | "large";
  role?: "dialog" | "alertdialog";
  testId?: string;
  describedBy?: string;
}

export function Dialog({
  title,
  onClose,
  children,
  actions,
  initialFocusRef,
  fallbackFocus,
  busy,
  size = "medium",
  role = "dialog",
  testId,
  describedBy,
}: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const opener = useRef<HTMLElement | null>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  const fallbackRef = useRef(fallbackFocus);
  fallbackRef.current = fallbackFocus;
  const busyRef = useRef(busy);
  busyRef.current = busy;

  useLayoutEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const first = initialFocusRef?.current ?? dialog.querySelector<HTMLElement>(`.dialog-body ${FOCUSABLE}, .dialog-actions ${FOCUSABLE}`);
    first?.focus();
    return () => {
      if (dialog.open) dialog.close();
      const back = opener.current && opener.current.isConnected ? opener.current : fallbackRef.current?.();
      // After React has removed the dialog, so focus lands on the page, not the dying dialog.
      queueMicrotask(() => back?.focus());
    };
    // Runs once per opening: the dialog is mounted only while open.
  }, []);

  // The native Esc handler would close the element behind React's back.
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const onCancel = (e: Event) => {
      e.preventDefault();
      if (!busyRef.current) onCloseRef.current();
    };
    dialog.addEventListener("cancel", onCancel);
    return () => dialog.removeEventListener("cancel", onCancel);
  }, []);

  const keepTabInside = (e: KeyboardEvent<HTMLDialogElement>) => {
    if (e.key !== "Tab" || !ref.current) return;
    const items = Array.from(ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={ref}
      className={`dialog dialog-${size}`}
      role={role}
      aria-modal="true"
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      aria-busy={busy || undefined}
      data-testid={testId}
      onKeyDown={keepTabInside}
    >
      <div className="dialog-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={() => !busy && onClose()} disabled={busy}>
          <span aria-hidden="true">×</span>
        </button>
      </div>
      <div className="dialog-body">{children}</div>
      {actions && <div className="dialog-actions">{actions}</div>}
    </dialog>
  );
}
