// A customer, opened with Edit: the Details tab and the Manage Credit Cards tab.
import { lazy, Suspense, useRef, type KeyboardEvent } from "react";
import { useQuery } from "urql";
import { appError } from "../lib/errors";
import { Link, navigate, safeNext, useSearchParams } from "../lib/router";
import { useTitle } from "../lib/title";
import { ErrorBanner, SkeletonBlock } from "../ui/bits";
import { CustomerQuery, asCustomer, type CustomerDetail } from "./documents";
import { lastCustomersList } from "./lastList";
import "./customers.css";

const ManageCreditCards = lazy(() => import("../cards/ManageCreditCards").then((m) => ({ default: m.ManageCreditCards })));

type Tab = "details" | "cards";

const tabs: { id: Tab; label: string; path: (id: string) => string }[] = [
  { id: "details", label: "Details", path: (id) => `/customers/${encodeURIComponent(id)}` },
  { id: "cards", label: "Manage Credit Cards", path: (id) => `/customers/${encodeURIComponent(id)}/cards` },
];

export default function CustomerPage({ id, tab }: { id: string; tab: Tab }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: CustomerQuery, variables: { id } });
  const customer = asCustomer(data?.node);
  const [params] = useSearchParams();
  // Order Entry sends people here and wants them back.
  const back = params.get("back");
  const backTo = back ? safeNext(back, "/customers") : lastCustomersList();
  const backLabel = backTo.startsWith("/payments/order-entry") ? "Back to Order Entry" : "Customers";
  useTitle(customer ? `${customer.name} · ${tab === "cards" ? "Manage Credit Cards" : "Details"}` : "Customer");

  const tabRefs = useRef<Record<Tab, HTMLButtonElement | null>>({ details: null, cards: null });
  const go = (t: Tab) => {
    const keep = back ? `?back=${encodeURIComponent(back)}` : "";
    navigate(tabs.find((x) => x.id === t)!.path(id) + keep, { replace: true });
  };
  const onTabKey = (e: KeyboardEvent<HTMLButtonElement>) => {
    const i = tabs.findIndex((x) => x.id === tab);
    let next = -1;
    if (e.key === "ArrowRight") next = (i + 1) % tabs.length;
    else if (e.key === "ArrowLeft") next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = tabs.length - 1;
    if (next < 0) return;
    e.preventDefault();
    const t = tabs[next]!.id;
    go(t);
    tabRefs.current[t]?.focus();
  };

  if (error && !data) return <ErrorBanner error={appError(error)} retry={() => refetch({ requestPolicy: "network-only" })} />;
  if (data && !customer) {
    return (
      <div className="page">
        <h1>Customer not found</h1>
        <p>
          This customer does not exist or belongs to another company. <Link to="/customers">Back to Customers</Link>
        </p>
      </div>
    );
  }

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <p className="breadcrumb">
            <Link to={backTo}>← {backLabel}</Link>
          </p>
          <h1 data-testid="customer-name">
            {customer ? customer.name : <span className="skeleton skeleton-title" aria-label="Loading" />}
            {customer && <span className="customer-code mono">{customer.code}</span>}
          </h1>
        </div>
      </div>

      <div className="tabs" role="tablist" aria-label="Customer">
        {tabs.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              tabRefs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className="tab"
            onClick={() => go(t.id)}
            onKeyDown={onTabKey}
            data-testid={`tab-${t.id}`}
          >
            {t.label}
          </button>
        ))}
      </div>

      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tab-panel">
        {tab === "details" ? (
          customer ? (
            <Details customer={customer} />
          ) : fetching ? (
            <SkeletonBlock height={200} />
          ) : null
        ) : (
          <Suspense fallback={<SkeletonBlock height={260} />}>
            <ManageCreditCards customerId={id} />
          </Suspense>
        )}
      </div>
    </div>
  );
}

function Details({ customer: c }: { customer: CustomerDetail }) {
  return (
    <dl className="customer-details" data-testid="customer-details">
      <dt>Code</dt>
      <dd className="mono">{c.code}</dd>
      <dt>Name</dt>
      <dd>{c.name}</dd>
      <dt>Billing email</dt>
      <dd>{c.email ?? "—"}</dd>
      <dt>Phone</dt>
      <dd>{c.phone ?? "—"}</dd>
      <dt>Default currency</dt>
      <dd>{c.defaultCurrency}</dd>
      <dt>Country</dt>
      <dd>{c.country}</dd>
      <dt>Status</dt>
      <dd>{c.active ? "Active" : "Inactive"}</dd>
      <dt>Card payments in Order Entry</dt>
      <dd>{c.restrictCardPayments ? "Restricted" : "Allowed"}</dd>
    </dl>
  );
}
