// The customer's card requests: where each stands, until when its link
// works, whether the email went out; Resend and Cancel.
import { useState } from "react";
import { useMutation } from "urql";
import { appError, type AppError } from "../lib/errors";
import { formatDateTime, relative } from "../lib/format";
import { Dialog } from "../ui/Dialog";
import { useNotices } from "../ui/Notices";
import { Banner } from "../ui/bits";
import { CancelCardRequestMutation, ResendCardRequestMutation, type CardRequestItem } from "./documents";

const mutationContext = { additionalTypenames: ["CardRequest"] };
const SHOWN = 5;

type Shown = "Waiting" | "Opened" | "Completed" | "Expired" | "Cancelled";

/** The status people see: an open request past its expiry is expired even before the job marks it. */
function shownStatus(r: CardRequestItem, now: number): Shown {
  const open = r.status === "PENDING" || r.status === "OPENED";
  if (open && new Date(r.expiresAt).getTime() <= now) return "Expired";
  return ({ PENDING: "Waiting", OPENED: "Opened", COMPLETED: "Completed", EXPIRED: "Expired", CANCELLED: "Cancelled" } as const)[r.status];
}

const statusBadge: Record<Shown, string> = {
  Waiting: "badge-info",
  Opened: "badge-primary",
  Completed: "badge-success",
  Expired: "badge-muted",
  Cancelled: "badge-muted",
};

export function CardRequestsList({ requests }: { requests: CardRequestItem[] | null }) {
  const [showAll, setShowAll] = useState(false);
  const [cancelling, setCancelling] = useState<CardRequestItem | null>(null);
  const [cancelError, setCancelError] = useState<AppError | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: AppError } | null>(null);
  const [{ fetching: cancelBusy }, cancel] = useMutation(CancelCardRequestMutation);
  const [{ fetching: resendBusy, operation: resendOp }, resend] = useMutation(ResendCardRequestMutation);
  const { notify } = useNotices();
  const now = Date.now();
  const list = requests ?? [];
  const visible = showAll ? list : list.slice(0, SHOWN);

  const doResend = async (r: CardRequestItem) => {
    setRowError(null);
    const res = await resend({ id: r.id }, mutationContext);
    if (res.data) notify(`A new link was sent to ${res.data.resendCardRequest.email}. The link is valid for 8 hours.`);
    else setRowError({ id: r.id, error: appError(res.error)! });
  };
  const doCancel = async () => {
    if (!cancelling) return;
    const res = await cancel({ id: cancelling.id }, mutationContext);
    if (res.data) {
      notify("The request was cancelled; its link no longer works.");
      setCancelling(null);
    } else setCancelError(appError(res.error));
  };

  return (
    <section className="section" aria-labelledby="requests-heading">
      <h3 id="requests-heading">Card requests</h3>
      {list.length === 0 ? (
        <p className="muted" data-testid="no-requests">
          No card requests sent yet.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="requests-table">
            <caption className="visually-hidden">Card requests</caption>
            <thead>
              <tr>
                <th scope="col">Sent</th>
                <th scope="col">Email</th>
                <th scope="col">Status</th>
                <th scope="col">Link valid until</th>
                <th scope="col">Delivery</th>
                <th scope="col">By</th>
                <th scope="col" className="actions-col">
                  Actions
                </th>
              </tr>
            </thead>
            <tbody>
              {visible.map((r) => {
                const shown = shownStatus(r, now);
                const open = shown === "Waiting" || shown === "Opened";
                return (
                  <tr key={r.id} data-testid="request-row" data-request-id={r.id} data-status={r.status}>
                    <td>{formatDateTime(r.createdAt)}</td>
                    <td className="truncate">{r.email}</td>
                    <td>
                      <span className={`badge ${statusBadge[shown]}`} data-testid="request-status">
                        {shown}
                      </span>
                    </td>
                    <td>
                      {formatDateTime(r.expiresAt)}
                      {open && <span className="muted small"> ({relative(r.expiresAt, now)})</span>}
                    </td>
                    <td data-testid="request-delivery">
                      {r.deliveryStatus === "SENT" ? (
                        <span title={r.sentAt ? formatDateTime(r.sentAt) : undefined}>Emailed</span>
                      ) : r.deliveryStatus === "FAILED" ? (
                        <span className="text-danger">
                          Not delivered ({r.deliveryAttempts} {r.deliveryAttempts === 1 ? "try" : "tries"})
                        </span>
                      ) : (
                        <span className="muted">Queued</span>
                      )}
                    </td>
                    <td>{r.requestedBy?.name ?? <span className="muted">—</span>}</td>
                    <td className="actions-col">
                      <span className="row-actions">
                        {r.status !== "COMPLETED" && (
                          <button
                            type="button"
                            className="button button-small"
                            onClick={() => void doResend(r)}
                            disabled={resendBusy && resendOp?.variables.id === r.id}
                            aria-label={`Resend the request sent to ${r.email} on ${formatDateTime(r.createdAt)}`}
                            data-testid="request-resend"
                          >
                            Resend
                          </button>
                        )}
                        {open && (
                          <button
                            type="button"
                            className="button button-small button-danger-quiet"
                            onClick={() => {
                              setCancelError(null);
                              setCancelling(r);
                            }}
                            aria-label={`Cancel the request sent to ${r.email} on ${formatDateTime(r.createdAt)}`}
                            data-testid="request-cancel"
                          >
                            Cancel
                          </button>
                        )}
                      </span>
                      {rowError?.id === r.id && (
                        <p className="field-error" role="alert">
                          {rowError.error.message}
                        </p>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {list.length > SHOWN && (
        <button type="button" className="link-button" onClick={() => setShowAll((v) => !v)} aria-expanded={showAll}>
          {showAll ? "Show fewer requests" : `Show all ${list.length} requests`}
        </button>
      )}
      {cancelling && (
        <Dialog
          title="Cancel this request?"
          role="alertdialog"
          size="small"
          busy={cancelBusy}
          onClose={() => setCancelling(null)}
          testId="cancel-request-dialog"
          fallbackFocus={() => document.getElementById("requests-heading")}
          actions={
            <>
              <button type="button" className="button" onClick={() => setCancelling(null)} disabled={cancelBusy}>
                Keep it
              </button>
              <button type="button" className="button button-danger" onClick={() => void doCancel()} disabled={cancelBusy} data-testid="confirm-cancel-request">
                {cancelBusy ? "Cancelling…" : "Yes, Cancel"}
              </button>
            </>
          }
        >
          <p>The link sent to {cancelling.email} will stop working. You can send a new one at any time.</p>
          {cancelError && <Banner tone="error">{cancelError.message}</Banner>}
        </Dialog>
      )}
    </section>
  );
}
