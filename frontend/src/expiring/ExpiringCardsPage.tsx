// Cards expired or expiring within 60 days across all customers, soonest
// first, each with a one-click Request Cards to the customer's email.
import { useEffect, useMemo, useRef, useState } from "react";
import { gql, useMutation, useQuery } from "urql";
import { RequestCardsDialog } from "../cards/RequestCardsDialog";
import { CardFields, RequestCardMutation, type CreditCardItem } from "../cards/documents";
import { useViewer } from "../layout/viewer";
import { appError, type AppError } from "../lib/errors";
import { expiry, formatDateTime, masked, relative, roleName } from "../lib/format";
import { Link, useSearchParams } from "../lib/router";
import { useTitle } from "../lib/title";
import { BrandMark } from "../ui/BrandMark";
import { Banner, ErrorBanner, SkeletonRows } from "../ui/bits";
import "./expiring.css";

const PAGE_SIZE = 50;
const WINDOW_DAYS = 60;

interface ExpiringCard extends CreditCardItem {
  customer: {
    id: string;
    name: string;
    code: string;
    email: string | null;
    cardRequests: { id: string; status: string; createdAt: string; expiresAt: string }[] | null;
  };
}

const ExpiringQuery = gql<
  {
    expiringCreditCards: {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      edges: ({ node: ExpiringCard | null } | null)[] | null;
    };
  },
  { withinDays: number; first: number; after?: string }
>`
  query ExpiringCreditCards($withinDays: Int, $first: Int, $after: Cursor) {
    expiringCreditCards(withinDays: $withinDays, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...CardFields
          customer {
            id
            name
            code
            email
            cardRequests {
              id
              status
              createdAt
              expiresAt
            }
          }
        }
      }
    }
  }
  ${CardFields}
`;

const queryContext = { additionalTypenames: ["CreditCard", "CardRequest"] };
const requestContext = { additionalTypenames: ["CardRequest"] };

type RowState = { kind: "sending" } | { kind: "sent"; email: string; expiresAt: string } | { kind: "error"; error: AppError };

export default function ExpiringCardsPage() {
  useTitle("Expiring cards");
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const after = params.get("after") ?? undefined;
  const variables = useMemo(() => ({ withinDays: WINDOW_DAYS, first: PAGE_SIZE, after }), [after]);
  const [{ data, fetching, error }, refetch] = useQuery({ query: ExpiringQuery, variables, context: queryContext, pause: !viewer.canManageCards });
  const [, requestCard] = useMutation(RequestCardMutation);
  const [rows, setRows] = useState<Record<string, RowState>>({});
  const [asking, setAsking] = useState<{ card: ExpiringCard; button: HTMLButtonElement } | null>(null);
  const conn = data?.expiringCreditCards;
  const cards = (conn?.edges ?? []).map((e) => e?.node).filter((n): n is ExpiringCard => !!n);
  const lastButton = useRef<HTMLButtonElement | null>(null);

  // One click sends to the email on file; without one, ask for an address.
  const request = async (card: ExpiringCard, button: HTMLButtonElement) => {
    const email = card.customer.email;
    if (!email) {
      lastButton.current = button;
      setAsking({ card, button });
      return;
    }
    setRows((r) => ({ ...r, [card.id]: { kind: "sending" } }));
    const res = await requestCard({ input: { customerId: card.customer.id, email } }, requestContext);
    setRows((r) => ({
      ...r,
      [card.id]: res.data
        ? { kind: "sent", email: res.data.requestCard.email, expiresAt: res.data.requestCard.expiresAt }
        : { kind: "error", error: appError(res.error)! },
    }));
  };

  if (!viewer.canManageCards) {
    return (
      <div className="page">
        <h1>Expiring cards</h1>
        <Banner tone="info" title="Card management is not part of your role" testId="no-card-management">
          As a {roleName(viewer.role)} you cannot see customers' credit cards.
        </Banner>
      </div>
    );
  }

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <p className="breadcrumb">Cards</p>
          <h1>Expiring cards</h1>
          <p className="muted">
            Cards that have expired or expire within {WINDOW_DAYS} days, soonest first. <strong>Request Cards</strong> emails the customer a link
            to enter a new card (valid for 8 hours).
          </p>
        </div>
      </div>
      <ErrorBanner error={appError(error)} retry={() => refetch({ requestPolicy: "network-only" })} />
      <div className="table-wrap">
        <table className="table" data-testid="expiring-table" aria-busy={fetching}>
          <caption className="visually-hidden">Expiring cards</caption>
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Card</th>
              <th scope="col">Expires</th>
              <th scope="col">Email on file</th>
              <th scope="col" className="actions-col">
                Actions
              </th>
            </tr>
          </thead>
          <tbody>
            {!data && fetching ? (
              <SkeletonRows rows={8} columns={5} />
            ) : cards.length === 0 ? (
              <tr>
                <td colSpan={5} className="empty">
                  No cards expire in the next {WINDOW_DAYS} days.
                </td>
              </tr>
            ) : (
              cards.map((card) => {
                const state = rows[card.id];
                return (
                  <tr key={card.id} data-testid="expiring-row" data-card-id={card.id} data-customer-code={card.customer.code}>
                    <td>
                      <Link to={`/customers/${encodeURIComponent(card.customer.id)}/cards`}>{card.customer.name}</Link>
                      <span className="mono muted small"> {card.customer.code}</span>
                    </td>
                    <td>
                      <span className="card-cell">
                        <BrandMark brand={card.brand} />
                        <span className="mono">{masked(card.last4)}</span>
                        {card.isPrimary && <span className="badge badge-primary">Primary</span>}
                      </span>
                      {card.description && <div className="muted small">{card.description}</div>}
                    </td>
                    <td>
                      <span className="mono">{expiry(card.expMonth, card.expYear)}</span>{" "}
                      {card.expired ? <span className="badge badge-danger">Expired</span> : <span className="badge badge-warning">Expires soon</span>}
                    </td>
                    <td className="truncate">{card.customer.email ?? <span className="muted">None</span>}</td>
                    <td className="actions-col">
                      {state?.kind === "sent" ? (
                        <SentNote email={state.email} expiresAt={state.expiresAt} />
                      ) : (
                        <>
                          <button
                            type="button"
                            className="button button-small"
                            disabled={state?.kind === "sending"}
                            onClick={(e) => void request(card, e.currentTarget)}
                            aria-label={`Request Cards from ${card.customer.name}`}
                            data-testid="expiring-request-cards"
                          >
                            {state?.kind === "sending" ? "Sending…" : "Request Cards"}
                          </button>
                          <OpenRequestNote card={card} />
                          {state?.kind === "error" && (
                            <p className="field-error" role="alert">
                              {state.error.message}
                            </p>
                          )}
                        </>
                      )}
                    </td>
                  </tr>
                );
              })
            )}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <p className="muted" aria-live="polite">
          {conn ? `${conn.totalCount} ${conn.totalCount === 1 ? "card" : "cards"}` : " "}
        </p>
        <div className="pager-buttons">
          {after && (
            <button type="button" className="button" onClick={() => setParams({ after: null }, { replace: false })}>
              First page
            </button>
          )}
          <button
            type="button"
            className="button"
            disabled={!conn?.pageInfo.hasNextPage}
            onClick={() => setParams({ after: conn?.pageInfo.endCursor ?? null }, { replace: false })}
          >
            Next
          </button>
        </div>
      </div>
      {asking && (
        <RequestCardsDialog
          customerId={asking.card.customer.id}
          customerName={asking.card.customer.name}
          defaultEmail={null}
          onClose={() => setAsking(null)}
          onSent={(r) => setRows((s) => ({ ...s, [asking.card.id]: { kind: "sent", email: r.email, expiresAt: r.expiresAt } }))}
          fallbackFocus={() => lastButton.current}
        />
      )}
    </div>
  );
}

/** Replaces the row's button; takes the focus the vanished button had. */
function SentNote({ email, expiresAt }: { email: string; expiresAt: string }) {
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement === null) ref.current?.focus();
  }, []);
  return (
    <span ref={ref} tabIndex={-1} className="sent-note" role="status" data-testid="expiring-request-sent">
      ✓ Link sent to {email}, valid for 8 hours (until {formatDateTime(expiresAt)})
    </span>
  );
}

/** A link already on its way: say so, so nobody sends a second one by accident. */
function OpenRequestNote({ card }: { card: ExpiringCard }) {
  const now = Date.now();
  const open = (card.customer.cardRequests ?? []).find(
    (r) => (r.status === "PENDING" || r.status === "OPENED") && new Date(r.expiresAt).getTime() > now,
  );
  if (!open) return null;
  return (
    <p className="muted small open-request" data-testid="expiring-open-request">
      A link sent {relative(open.createdAt, now)} is still open.
    </p>
  );
}
