// The development outbox: the emails cardfile "sent" on this machine, with
// their card-form links, so the whole request flow can be walked locally.
import { useCallback, useEffect, useState } from "react";
import { formatDateTime } from "../lib/format";
import { useTitle } from "../lib/title";
import { Banner, SkeletonBlock } from "../ui/bits";
import { fetchOutbox, type OutboxEmail } from "./available";
import "./outbox.css";

type State = { kind: "loading" } | { kind: "none" } | { kind: "error" } | { kind: "ok"; emails: OutboxEmail[] };

export default function OutboxPage() {
  useTitle("Outbox");
  const [state, setState] = useState<State>({ kind: "loading" });

  const load = useCallback((signal?: AbortSignal) => {
    fetchOutbox(signal)
      .then((emails) => setState(emails ? { kind: "ok", emails } : { kind: "none" }))
      .catch((e: unknown) => {
        if (!(e instanceof DOMException && e.name === "AbortError")) setState({ kind: "error" });
      });
  }, []);

  useEffect(() => {
    const ctl = new AbortController();
    load(ctl.signal);
    // New emails arrive from a background job: look again now and then.
    const t = window.setInterval(() => load(), 5000);
    return () => {
      ctl.abort();
      window.clearInterval(t);
    };
  }, [load]);

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <p className="breadcrumb">Development</p>
          <h1>Outbox</h1>
          <p className="muted">Emails cardfile has sent on this machine. No mail server is configured, so they stop here.</p>
        </div>
        <button type="button" className="button" onClick={() => load()}>
          Refresh
        </button>
      </div>
      {state.kind === "loading" && <SkeletonBlock height={200} />}
      {state.kind === "none" && <Banner tone="info">This server has no development outbox: it sends real email.</Banner>}
      {state.kind === "error" && <Banner tone="error">The outbox could not be read. Is cardfile running?</Banner>}
      {state.kind === "ok" &&
        (state.emails.length === 0 ? (
          <p className="muted" data-testid="outbox-empty">
            No emails yet. Send a card request from a customer's Manage Credit Cards tab.
          </p>
        ) : (
          <ol className="outbox" data-testid="outbox-list">
            {state.emails.map((m) => (
              <li key={m.id} className="outbox-item" data-testid="outbox-email" data-to={m.to}>
                <div className="outbox-head">
                  <h2>{m.subject}</h2>
                  <span className="muted small">{formatDateTime(m.createdAt)}</span>
                </div>
                <p className="muted small">To {m.to}</p>
                {m.links.length > 0 && (
                  <ul className="outbox-links">
                    {m.links.map((href) => (
                      <li key={href}>
                        <a href={href} data-testid="outbox-link" target="_blank" rel="noreferrer noopener">
                          Open the card form
                        </a>
                        <span className="muted small mono truncate outbox-url">{href}</span>
                      </li>
                    ))}
                  </ul>
                )}
                <details>
                  <summary>Email text</summary>
                  <pre>{m.text}</pre>
                </details>
              </li>
            ))}
          </ol>
        ))}
    </div>
  );
}
