// Setup › Customers: find a customer by name, code or email, narrow by cards
// on file, currency and status, and open one with Edit.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { useViewer } from "../layout/viewer";
import { appError } from "../lib/errors";
import { Link, useLocation, useSearchParams } from "../lib/router";
import { useTitle } from "../lib/title";
import { ErrorBanner, SkeletonRows } from "../ui/bits";
import { CustomersQuery, searchWhere, type CustomerListItem, type CustomerWhere } from "./documents";
import { rememberCustomersList } from "./lastList";
import "./customers.css";

const PAGE_SIZE = 25;
const CURRENCIES = ["USD", "CAD", "MXN", "EUR", "GBP", "COP"];

export default function CustomersPage() {
  useTitle("Customers");
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const { href } = useLocation();
  useEffect(() => rememberCustomersList(href), [href]);
  const q = params.get("q") ?? "";
  const cards = params.get("cards") ?? "";
  const currency = params.get("currency") ?? "";
  const status = params.get("status") ?? "active";
  const after = params.get("after") ?? undefined;
  const before = params.get("before") ?? undefined;

  // The search box updates the URL (and the query) once typing pauses.
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (text === q) return;
    const t = window.setTimeout(() => setParams({ q: text.trim(), after: null, before: null }), 300);
    return () => window.clearTimeout(t);
  }, [text, q, setParams]);

  const where = useMemo<CustomerWhere>(() => {
    const w: CustomerWhere = searchWhere(q);
    if (cards === "with") w.hasCreditCards = true;
    if (cards === "without") w.hasCreditCards = false;
    if (currency) w.defaultCurrency = currency;
    if (status === "active") w.active = true;
    if (status === "inactive") w.active = false;
    return w;
  }, [q, cards, currency, status]);

  const variables = useMemo(
    () => (before ? { last: PAGE_SIZE, before, where, withCards: viewer.canManageCards } : { first: PAGE_SIZE, after, where, withCards: viewer.canManageCards }),
    [before, after, where, viewer.canManageCards],
  );
  const [{ data, fetching, error }, refetch] = useQuery({ query: CustomersQuery, variables });
  const conn = data?.customers;
  const rows = (conn?.edges ?? []).map((e) => e?.node).filter((n): n is CustomerListItem => !!n);
  const columns = viewer.canManageCards ? 7 : 6;

  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    setParams({ q: text.trim(), after: null, before: null });
  };
  const setFilter = (key: string, value: string) => setParams({ [key]: value, after: null, before: null });

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <p className="breadcrumb">Setup</p>
          <h1>Customers</h1>
        </div>
      </div>

      <form className="filters" role="search" aria-label="Filter customers" onSubmit={onSearch}>
        <div className="field field-grow">
          <label htmlFor="customer-search">Name, code or email</label>
          <input
            id="customer-search"
            type="search"
            value={text}
            placeholder="e.g. Bayside, C0062 or billing@"
            onChange={(e) => setText(e.target.value)}
            data-testid="customer-search"
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor="customer-cards">Cards on file</label>
          <select id="customer-cards" value={cards} onChange={(e) => setFilter("cards", e.target.value)} data-testid="filter-cards">
            <option value="">Any</option>
            <option value="with">Has cards</option>
            <option value="without">No cards</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="customer-currency">Currency</label>
          <select id="customer-currency" value={currency} onChange={(e) => setFilter("currency", e.target.value)} data-testid="filter-currency">
            <option value="">Any</option>
            {CURRENCIES.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="customer-status">Status</label>
          <select
            id="customer-status"
            value={status}
            onChange={(e) => setFilter("status", e.target.value === "active" ? "" : e.target.value)}
            data-testid="filter-status"
          >
            <option value="active">Active</option>
            <option value="inactive">Inactive</option>
            <option value="all">All</option>
          </select>
        </div>
        <button type="submit" className="button">
          Search
        </button>
      </form>

      <ErrorBanner error={appError(error)} retry={() => refetch({ requestPolicy: "network-only" })} />

      <div className="table-wrap">
        <table className="table" data-testid="customers-table" aria-busy={fetching} aria-describedby="customers-count">
          <caption className="visually-hidden">Customers</caption>
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Currency</th>
              {viewer.canManageCards && <th scope="col">Cards</th>}
              <th scope="col">Status</th>
              <th scope="col" className="actions-col">
                Actions
              </th>
            </tr>
          </thead>
          <tbody>
            {!data && fetching ? (
              <SkeletonRows rows={8} columns={columns} />
            ) : rows.length === 0 ? (
              <tr>
                <td colSpan={columns} className="empty">
                  No customers match these filters.
                </td>
              </tr>
            ) : (
              rows.map((c) => <CustomerRow key={c.id} customer={c} showCards={viewer.canManageCards} />)
            )}
          </tbody>
        </table>
      </div>

      <div className="pager">
        <p id="customers-count" className="muted" aria-live="polite">
          {conn ? `${conn.totalCount} ${conn.totalCount === 1 ? "customer" : "customers"}` : " "}
        </p>
        <div className="pager-buttons">
          <button
            type="button"
            className="button"
            disabled={!conn || !(before ? conn.pageInfo.hasPreviousPage : !!after)}
            onClick={() => setParams({ before: conn?.pageInfo.startCursor ?? null, after: null }, { replace: false })}
          >
            Previous
          </button>
          <button
            type="button"
            className="button"
            disabled={!conn || !(before ? true : conn.pageInfo.hasNextPage)}
            onClick={() => setParams({ after: conn?.pageInfo.endCursor ?? null, before: null }, { replace: false })}
          >
            Next
          </button>
        </div>
      </div>
    </div>
  );
}

function CustomerRow({ customer: c, showCards }: { customer: CustomerListItem; showCards: boolean }) {
  const list = c.creditCards ?? [];
  const expired = list.filter((k) => k.expired).length;
  const soon = list.filter((k) => !k.expired && k.expiresSoon).length;
  return (
    <tr data-testid="customer-row" data-customer-id={c.id} data-customer-code={c.code}>
      <td className="mono">{c.code}</td>
      <td>{c.name}</td>
      <td className="truncate">{c.email ?? <span className="muted">—</span>}</td>
      <td>{c.defaultCurrency}</td>
      {showCards && (
        <td>
          {list.length === 0 ? (
            <span className="muted">None</span>
          ) : (
            <span className="card-count">
              {list.length} {list.length === 1 ? "card" : "cards"}
              {expired > 0 && <span className="badge badge-danger">{expired} expired</span>}
              {soon > 0 && <span className="badge badge-warning">{soon} expiring</span>}
            </span>
          )}
        </td>
      )}
      <td>{c.active ? <span className="badge badge-success">Active</span> : <span className="badge">Inactive</span>}</td>
      <td className="actions-col">
        <Link to={`/customers/${encodeURIComponent(c.id)}`} className="button button-small" data-testid="customer-edit">
          Edit<span className="visually-hidden"> {c.name}</span>
        </Link>
      </td>
    </tr>
  );
}
