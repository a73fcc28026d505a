// The gateway's hosted card fields in an iframe. The card number, expiry and
// security code are typed into the gateway's page, never into this app: the
// parent only asks for a single-use payment token and gets back the token,
// brand, last four digits and expiry.
import { useCallback, useEffect, useImperativeHandle, useMemo, useRef, useState, type Ref } from "react";

export interface CardToken {
  token: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

/** A problem the hosted fields reported; field problems are shown inside the iframe. */
export class HostedFieldsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field: string | null,
  ) {
    super(message);
  }
}

export interface HostedFieldsHandle {
  /** Asks the gateway for a single-use token for what is typed in the fields. */
  tokenize(): Promise<CardToken>;
  /** Clears the fields. */
  reset(): void;
}

interface Props {
  /** hostedFieldsUrl from the API. */
  src: string;
  title?: string;
  ref?: Ref<HostedFieldsHandle>;
  testId?: string;
  /** Height to reserve before the page reports its own, so nothing jumps. */
  initialHeight?: number;
}

const TOKENIZE_TIMEOUT_MS = 30_000;
const LOAD_TIMEOUT_MS = 15_000;

/** The iframe URL with our origin, so the page posts its messages only to us. */
export function fieldsURL(src: string): string {
  const u = new URL(src, window.location.href);
  u.searchParams.set("origin", window.location.origin);
  return u.toString();
}

export function HostedCardFields({ src, title = "Card details", ref, testId = "hosted-fields", initialHeight = 330 }: Props) {
  const frame = useRef<HTMLIFrameElement>(null);
  const url = useMemo(() => fieldsURL(src), [src]);
  const fieldsOrigin = useMemo(() => new URL(url).origin, [url]);
  const [height, setHeight] = useState(initialHeight);
  const [ready, setReady] = useState(false);
  const [stalled, setStalled] = useState(false);
  const [reloads, setReloads] = useState(0);
  const pending = useRef<{ resolve(t: CardToken): void; reject(e: Error): void; timer: number } | null>(null);

  const settle = useCallback((fn: (p: NonNullable<typeof pending.current>) => void) => {
    const p = pending.current;
    if (!p) return;
    pending.current = null;
    window.clearTimeout(p.timer);
    fn(p);
  }, []);

  useEffect(() => {
    const onMessage = (event: MessageEvent) => {
      // Only the iframe we made, from the gateway's origin, may talk to us.
      if (event.origin !== fieldsOrigin || event.source !== frame.current?.contentWindow) return;
      const data = event.data as Record<string, unknown> | null;
      if (!data || typeof data !== "object" || typeof data.type !== "string") return;
      switch (data.type) {
        case "cardfile:ready":
          setReady(true);
          setStalled(false);
          break;
        case "cardfile:resize":
          if (typeof data.height === "number" && data.height > 0) setHeight(Math.min(Math.ceil(data.height) + 2, 1200));
          break;
        case "cardfile:token":
          if (typeof data.token === "string") {
            const token: CardToken = {
              token: data.token,
              brand: String(data.brand ?? "UNKNOWN"),
              last4: String(data.last4 ?? ""),
              expMonth: Number(data.expMonth),
              expYear: Number(data.expYear),
            };
            settle((p) => p.resolve(token));
          }
          break;
        case "cardfile:error":
          settle((p) =>
            p.reject(
              new HostedFieldsError(
                String(data.code ?? "error"),
                String(data.message ?? "The card could not be processed."),
                typeof data.field === "string" ? data.field : null,
              ),
            ),
          );
          break;
      }
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, [fieldsOrigin, settle]);

  // A gateway that never says it is ready gets a visible way out.
  useEffect(() => {
    if (ready) return;
    const t = window.setTimeout(() => setStalled(true), LOAD_TIMEOUT_MS);
    return () => window.clearTimeout(t);
  }, [ready, reloads]);

  useEffect(() => () => settle((p) => p.reject(new HostedFieldsError("cancelled", "The card form was closed.", null))), [settle]);

  useImperativeHandle(
    ref,
    () => ({
      tokenize() {
        const win = frame.current?.contentWindow;
        if (!win || !ready) return Promise.reject(new HostedFieldsError("not_ready", "The card form is still loading. Try again in a moment.", null));
        settle((p) => p.reject(new HostedFieldsError("superseded", "Superseded by a newer request.", null)));
        return new Promise<CardToken>((resolve, reject) => {
          const timer = window.setTimeout(
            () => settle((p) => p.reject(new HostedFieldsError("timeout", "The card service did not answer. Try again.", null))),
            TOKENIZE_TIMEOUT_MS,
          );
          pending.current = { resolve, reject, timer };
          win.postMessage({ type: "cardfile:tokenize" }, fieldsOrigin);
        });
      },
      reset() {
        frame.current?.contentWindow?.postMessage({ type: "cardfile:reset" }, fieldsOrigin);
      },
    }),
    [ready, fieldsOrigin, settle],
  );

  return (
    <div className="hosted-fields" style={{ height }} data-ready={ready ? "true" : "false"}>
      {!ready && (
        <div className="hosted-fields-loading" aria-hidden={stalled ? undefined : "true"}>
          {stalled ? (
            <p role="alert">
              The card form is taking long to load.{" "}
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  setStalled(false);
                  setReloads((n) => n + 1);
                }}
              >
                Reload it
              </button>
            </p>
          ) : (
            <div className="skeleton-fields">
              <span className="skeleton" />
              <span className="skeleton" />
              <span className="skeleton" />
            </div>
          )}
        </div>
      )}
      <iframe
        key={reloads}
        ref={frame}
        src={url}
        title={title}
        data-testid={testId}
        onLoad={() => setStalled(false)}
        referrerPolicy="no-referrer"
        allow="payment"
      />
    </div>
  );
}
