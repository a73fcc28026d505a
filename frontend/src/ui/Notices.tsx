// App-wide notices ("Card saved.") in one polite live region, so screen
// readers hear them and sighted users see them without layout shifts.
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";

export type Tone = "info" | "success" | "warning" | "error";

interface Notice {
  id: number;
  text: string;
  tone: Tone;
}

interface NoticesValue {
  notify(text: string, tone?: Tone): void;
}

const NoticesContext = createContext<NoticesValue>({ notify: () => {} });

export function useNotices(): NoticesValue {
  return useContext(NoticesContext);
}

export function NoticesProvider({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setNotices((ns) => ns.filter((n) => n.id !== id)), []);
  const notify = useCallback(
    (text: string, tone: Tone = "success") => {
      const id = next.current++;
      setNotices((ns) => [...ns.slice(-2), { id, text, tone }]);
      window.setTimeout(() => dismiss(id), tone === "error" ? 10_000 : 6_000);
    },
    [dismiss],
  );
  const value = useMemo(() => ({ notify }), [notify]);
  return (
    <NoticesContext.Provider value={value}>
      {children}
      <div className="toasts" role="status" aria-live="polite" data-testid="notices">
        {notices.map((n) => (
          <div key={n.id} className={`toast toast-${n.tone}`}>
            <span>{n.text}</span>
            <button type="button" className="icon-button" aria-label="Dismiss notice" onClick={() => dismiss(n.id)}>
              <span aria-hidden="true">×</span>
            </button>
          </div>
        ))}
      </div>
    </NoticesContext.Provider>
  );
}
