// Receive Payments, Order Entry (its card payment panel) and Accounts
// Receivable: pick a customer, then charge a saved card (the primary one
// preselected) or a new one.
import { useRef, useState } from "react";
import { useQuery } from "urql";
import { RequestCardsDialog } from "../cards/RequestCardsDialog";
import { useViewer } from "../layout/viewer";
import { appError } from "../lib/errors";
import { roleName } from "../lib/format";
import { Link, useSearchParams } from "../lib/router";
import { useTitle } from "../lib/title";
import { Banner, ErrorBanner, SkeletonBlock } from "../ui/bits";
import { CardPaymentPanel } from "./CardPaymentPanel";
import { CustomerPicker } from "./CustomerPicker";
import { SelectableCardsQuery, type PayingCustomer, type PaymentScreen } from "./documents";
import "./payments.css";

const titles: Record<PaymentScreen, { title: string; lead: string; reference: string }> = {
  RECEIVE_PAYMENTS: { title: "Receive Payments", lead: "Apply a credit card payment to a customer's account.", reference: "Reference" },
  ORDER_ENTRY: { title: "Order Entry", lead: "Take a card payment for an order.", reference: "Order number" },
  ACCOUNTS_RECEIVABLE: {
    title: "Accounts Receivable",
    lead: "Collect an open balance by card; a new card can be saved for future payments.",
    reference: "Invoice number",
  },
};

const queryContext = { additionalTypenames: ["CreditCard"] };

export default function PaymentsPage({ screen }: { screen: PaymentScreen }) {
  const t = titles[screen];
  useTitle(t.title);
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const customerId = params.get("customer");

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <p className="breadcrumb">Payments</p>
          <h1>{t.title}</h1>
          <p className="muted">{t.lead}</p>
        </div>
      </div>
      {!viewer.canManageCards ? (
        <Banner tone="info" title="Card payments are not part of your role" testId="no-card-management">
          As a {roleName(viewer.role)} you cannot take card payments. By default Sales Managers, Sales Allocation, Admin and Credit Managers
          can; an administrator decides.
        </Banner>
      ) : customerId ? (
        <ChosenCustomer key={`${screen}:${customerId}`} customerId={customerId} screen={screen} referenceLabel={t.reference} onChange={() => setParams({ customer: null }, { replace: false })} />
      ) : (
        <section className="panel">
          <CustomerPicker autoFocus onPick={(c) => setParams({ customer: c.id }, { replace: false })} />
        </section>
      )}
    </div>
  );
}

function ChosenCustomer({ customerId, screen, referenceLabel, onChange }: { customerId: string; screen: PaymentScreen; referenceLabel: string; onChange(): void }) {
  const [{ data, error, fetching }, refetch] = useQuery({
    query: SelectableCardsQuery,
    variables: { customerId, screen },
    context: queryContext,
    requestPolicy: "cache-and-network",
  });
  const [requesting, setRequesting] = useState(false);
  const requestButton = useRef<HTMLButtonElement>(null);
  const customer = data?.customer?.__typename === "Customer" ? (data.customer as PayingCustomer) : null;
  const selectable = data?.selectableCreditCards;
  const back = `/payments/order-entry?customer=${encodeURIComponent(customerId)}`;

  if (error && !data) return <ErrorBanner error={appError(error)} retry={() => refetch({ requestPolicy: "network-only" })} />;
  if (!data || !selectable) return <SkeletonBlock height={360} label="Loading the customer's cards…" />;
  if (!customer) return <Banner tone="error">This customer does not exist or is not yours to see.</Banner>;

  return (
    <>
      <section className="panel customer-bar">
        <div>
          <span className="muted small">Customer</span>
          <div className="customer-bar-name">
            {screen === "ORDER_ENTRY" ? (
              // In Order Entry the customer's name opens their Manage Credit Cards tab.
              <Link
                to={`/customers/${encodeURIComponent(customer.id)}/cards?back=${encodeURIComponent(back)}`}
                data-testid="payment-customer-name"
                title="Open Manage Credit Cards"
              >
                {customer.name}
              </Link>
            ) : (
              <strong data-testid="payment-customer-name">{customer.name}</strong>
            )}
            <span className="mono muted small"> {customer.code}</span>
          </div>
        </div>
        <div className="toolbar">
          {screen === "ORDER_ENTRY" && (
            <>
              <Link
                to={`/customers/${encodeURIComponent(customer.id)}/cards?back=${encodeURIComponent(back)}`}
                className="button button-small"
                data-testid="open-manage-cards"
              >
                Manage Credit Cards
              </Link>
              <button ref={requestButton} type="button" className="button button-small" onClick={() => setRequesting(true)} data-testid="request-cards">
                Request Cards
              </button>
            </>
          )}
          <button type="button" className="button button-small button-quiet" onClick={onChange} data-testid="change-customer">
            Change customer
          </button>
        </div>
      </section>

      {fetching && <span className="visually-hidden" role="status">Updating cards…</span>}
      <CardPaymentPanel customer={customer} screen={screen} selectable={selectable} referenceLabel={referenceLabel} />

      {requesting && (
        <RequestCardsDialog
          customerId={customer.id}
          customerName={customer.name}
          defaultEmail={customer.email}
          onClose={() => setRequesting(false)}
          fallbackFocus={() => requestButton.current}
        />
      )}
    </>
  );
}
