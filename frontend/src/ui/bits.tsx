// Small shared pieces: banners, skeleton rows, field wrappers.
import type { ReactNode } from "react";
import type { AppError } from "../lib/errors";

export function Banner({ tone = "info", title, children, testId, role }: { tone?: "info" | "warning" | "error" | "success"; title?: string; children?: ReactNode; testId?: string; role?: "alert" | "status" | "note" }) {
  return (
    <div className={`banner banner-${tone}`} role={role ?? (tone === "error" ? "alert" : "status")} data-testid={testId}>
      {title && <strong className="banner-title">{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

export function ErrorBanner({ error, testId, retry }: { error: AppError | null; testId?: string; retry?: () => void }) {
  if (!error) return null;
  return (
    <Banner tone="error" testId={testId ?? "error"}>
      {error.message}{" "}
      {retry && (
        <button type="button" className="link-button" onClick={retry}>
          Try again
        </button>
      )}
    </Banner>
  );
}

export function SkeletonRows({ rows = 5, columns }: { rows?: number; columns: number }) {
  return (
    <>
      {Array.from({ length: rows }, (_, r) => (
        <tr key={r} className="skeleton-row" aria-hidden="true">
          {Array.from({ length: columns }, (_, c) => (
            <td key={c}>
              <span className="skeleton" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

export function SkeletonBlock({ height = 120, label = "Loading…" }: { height?: number; label?: string }) {
  return (
    <div className="skeleton-block" style={{ height }} role="status" aria-live="polite">
      <span className="visually-hidden">{label}</span>
    </div>
  );
}

/** The message under an input, linked by aria-describedby. */
export function FieldError({ id, message }: { id: string; message?: string }) {
  return (
    <p id={id} className="field-error" hidden={!message}>
      {message}
    </p>
  );
}
