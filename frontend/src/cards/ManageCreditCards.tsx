// Customer › Manage Credit Cards: the cards on file and the card requests,
// kept live by the creditCardsChanged and cardRequestsChanged subscriptions.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useMutation, useQuery } from "urql";
import { useViewer } from "../layout/viewer";
import { appError, type AppError } from "../lib/errors";
import { cardLabel, roleName } from "../lib/format";
import { onReconnect, useLiveEvents, useLiveStatus, useRefetchAfterEvents } from "../lib/live";
import { useSearchParams } from "../lib/router";
import { useNotices } from "../ui/Notices";
import { Banner, ErrorBanner } from "../ui/bits";
import { AddCardDialog } from "./AddCardDialog";
import { CardRequestsList } from "./CardRequestsList";
import { CardsTable } from "./CardsTable";
import { DeleteCardDialog } from "./DeleteCardDialog";
import { RequestCardsDialog } from "./RequestCardsDialog";
import {
  CardRequestsChangedSubscription,
  CreditCardsChangedSubscription,
  CustomerCardsQuery,
  DeleteCreditCardMutation,
  asCustomerCards,
  type CreditCardItem,
} from "./documents";
import "./cards.css";

// The query is refetched whenever a mutation or an event touches a card or a
// request, including the first card of a customer who had none.
const queryContext = { additionalTypenames: ["CreditCard", "CardRequest"] };
const cardEventContext = { additionalTypenames: ["CreditCard"] };
const requestEventContext = { additionalTypenames: ["CardRequest"] };
const deleteContext = { additionalTypenames: ["CreditCard"] };

export function ManageCreditCards({ customerId }: { customerId: string }) {
  const viewer = useViewer();
  if (!viewer.canManageCards) {
    return (
      <Banner tone="info" title="Card management is not part of your role" testId="no-card-management">
        As a {roleName(viewer.role)} you cannot see or manage customers' credit cards. By default Sales Managers, Sales Allocation, Admin
        and Credit Managers can; an administrator decides.
      </Banner>
    );
  }
  return <CardsTab customerId={customerId} />;
}

interface CustomerNotice {
  cardId: string;
  text: string;
}

function CardsTab({ customerId }: { customerId: string }) {
  const [{ data, fetching, stale, error }, refetch] = useQuery({
    query: CustomerCardsQuery,
    variables: { id: customerId },
    context: queryContext,
    requestPolicy: "cache-and-network",
  });
  const customer = asCustomerCards(data?.node);
  const cards = customer?.creditCards ?? (customer ? [] : null);
  const { notify } = useNotices();
  const live = useLiveStatus();
  const [params, setParams] = useSearchParams();

  const [adding, setAdding] = useState(false);
  const [requesting, setRequesting] = useState(params.get("request") === "1");
  const [deleting, setDeleting] = useState<CreditCardItem | null>(null);
  const [deleteError, setDeleteError] = useState<AppError | null>(null);
  const [{ fetching: deleteBusy }, deleteCard] = useMutation(DeleteCreditCardMutation);
  const [highlightId, setHighlightId] = useState<string | null>(null);
  const [customerNotice, setCustomerNotice] = useState<CustomerNotice | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const requestButton = useRef<HTMLButtonElement>(null);
  const [deletedId, setDeletedId] = useState<string | null>(null);

  // The row that held the Delete button goes when the list refetches, after the
  // dialog has handed focus back to that button: then continue from the heading.
  useEffect(() => {
    if (!deletedId || cards?.some((c) => c.id === deletedId)) return;
    setDeletedId(null);
    if (!document.activeElement || document.activeElement === document.body) heading.current?.focus();
  }, [deletedId, cards]);

  const refresh = useCallback(() => refetch({ requestPolicy: "network-only" }), [refetch]);
  useEffect(() => onReconnect(refresh), [refresh]);
  const changed = useRefetchAfterEvents(fetching || stale, refresh);

  useEffect(() => {
    if (!highlightId) return;
    const t = window.setTimeout(() => setHighlightId(null), 6000);
    return () => window.clearTimeout(t);
  }, [highlightId]);

  const variables = useMemo(() => ({ customerId }), [customerId]);
  useLiveEvents(
    CreditCardsChangedSubscription,
    variables,
    ({ creditCardsChanged: ev }) => {
      // Every event, RESYNC included, refetches the list.
      changed();
      if (ev.kind === "ADDED" && ev.cardId && ev.card?.source === "CUSTOMER_FORM") {
        setCustomerNotice({ cardId: ev.cardId, text: `The customer entered a new card: ${cardLabel(ev.card)}.` });
        setHighlightId(ev.cardId);
      }
    },
    { context: cardEventContext },
  );
  useLiveEvents(CardRequestsChangedSubscription, variables, changed, { context: requestEventContext });

  const closeRequest = () => {
    setRequesting(false);
    if (params.get("request")) setParams({ request: null });
  };

  const confirmDelete = async () => {
    if (!deleting) return;
    setDeleteError(null);
    const res = await deleteCard({ id: deleting.id }, deleteContext);
    if (!res.data) {
      setDeleteError(appError(res.error));
      return;
    }
    const promoted = res.data.deleteCreditCard.newPrimary;
    notify(`${cardLabel(deleting)} was deleted.${promoted ? ` ${cardLabel(promoted)} is now the primary card.` : ""}`);
    setDeleting(null);
    setDeletedId(deleting.id);
  };

  if (error && !data) return <ErrorBanner error={appError(error)} retry={refresh} />;
  if (data && !customer) return <Banner tone="error">This customer does not exist or is not yours to see.</Banner>;

  const first = (cards?.length ?? 0) === 0;

  return (
    <div className="cards-tab">
      <div className="section-header">
        <div className="section-title">
          <h2 ref={heading} tabIndex={-1} id="cards-heading">
            Credit cards
          </h2>
          <LiveIndicator status={live} />
        </div>
        <div className="toolbar">
          <button
            ref={requestButton}
            type="button"
            className="button"
            onClick={() => setRequesting(true)}
            // The server refuses requests for customers who could not pay by card anyway.
            disabled={!customer || !customer.canPayByCard.allowed}
            aria-describedby={customer && !customer.canPayByCard.allowed ? "card-payments-unavailable" : undefined}
            data-testid="request-cards"
          >
            Request Cards
          </button>
          <button type="button" className="button button-primary" onClick={() => setAdding(true)} disabled={!customer} data-testid="add-new-card">
            Add New
          </button>
        </div>
      </div>

      {customer && !customer.canPayByCard.allowed && (
        <div id="card-payments-unavailable">
          <Banner tone="warning" title="Card payments are not possible for this customer" testId="card-payments-unavailable">
            {customer.canPayByCard.reason} Cards can still be kept on file, but they cannot be charged and card requests cannot be sent.
          </Banner>
        </div>
      )}

      <div aria-live="polite" role="status" data-testid="customer-card-notice-region">
        {customerNotice && (
          <div className="banner banner-success notice-with-action" data-testid="customer-card-notice">
            <span>{customerNotice.text}</span>
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setCustomerNotice(null)}>
              <span aria-hidden="true">×</span>
            </button>
          </div>
        )}
      </div>

      <CardsTable
        customerId={customerId}
        cards={cards}
        loading={fetching}
        highlightId={highlightId}
        onDelete={(card) => {
          setDeleteError(null);
          setDeleting(card);
        }}
      />

      {customer && <CardRequestsList requests={customer.cardRequests} />}

      {adding && customer && (
        <AddCardDialog
          customerId={customer.id}
          customerName={customer.name}
          firstCard={first}
          onClose={() => setAdding(false)}
          onSaved={(card) => {
            setAdding(false);
            setHighlightId(card.id);
            notify(`Card saved: ${cardLabel(card)}${card.isPrimary ? " (primary)" : ""}.`);
          }}
        />
      )}
      {requesting && customer && (
        <RequestCardsDialog
          customerId={customer.id}
          customerName={customer.name}
          defaultEmail={customer.email}
          onClose={closeRequest}
          fallbackFocus={() => requestButton.current}
        />
      )}
      {deleting && (
        <DeleteCardDialog
          card={deleting}
          busy={deleteBusy}
          error={deleteError}
          onConfirm={() => void confirmDelete()}
          onClose={() => setDeleting(null)}
          fallbackFocus={() => heading.current}
        />
      )}
    </div>
  );
}

function LiveIndicator({ status }: { status: string }) {
  const text = status === "connected" ? "Live" : status === "reconnecting" ? "Reconnecting…" : status === "connecting" ? "Connecting…" : "";
  if (!text) return null;
  return (
    <span className={`live live-${status}`} data-testid="live-status" title={status === "connected" ? "Changes by others and by the customer appear here as they happen." : undefined}>
      <span className="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}
