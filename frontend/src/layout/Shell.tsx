// The staff chrome: the top bar (company, who is signed in, Sign out) and the
// navigation. It loads the viewer once and hands it to every screen.
import { useEffect, useRef, type ReactNode } from "react";
import { useQuery } from "urql";
import { roleName } from "../lib/format";
import { Link, useLocation } from "../lib/router";
import { useSession } from "../lib/session";
import { useOutboxAvailable } from "../outbox/available";
import { ErrorBanner, SkeletonBlock } from "../ui/bits";
import { appError } from "../lib/errors";
import { ViewerContext, ViewerQuery, canSeeOverview, type Viewer } from "./viewer";

interface NavItem {
  to: string;
  label: string;
  /** Highlights the item for sub-paths too. */
  prefix?: string;
  show(v: Viewer): boolean;
}

const nav: { group: string; items: NavItem[] }[] = [
  { group: "Setup", items: [{ to: "/customers", label: "Customers", prefix: "/customers", show: () => true }] },
  {
    group: "Payments",
    items: [
      { to: "/payments/receive", label: "Receive Payments", show: (v) => v.canManageCards },
      { to: "/payments/order-entry", label: "Order Entry", show: (v) => v.canManageCards },
      { to: "/payments/accounts-receivable", label: "Accounts Receivable", show: (v) => v.canManageCards },
    ],
  },
  {
    group: "Cards",
    items: [
      { to: "/expiring", label: "Expiring cards", show: (v) => v.canManageCards },
      { to: "/overview", label: "Overview", show: canSeeOverview },
    ],
  },
];

export function Shell({ children }: { children: ReactNode }) {
  const { signOut, expire } = useSession();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ViewerQuery, variables: {} });
  const viewer = data?.viewer ?? null;
  const { pathname } = useLocation();
  const outbox = useOutboxAvailable();

  // A stored token the server no longer knows: sign in again, then come back.
  useEffect(() => {
    if (data && !data.viewer) expire();
  }, [data, expire]);

  // Move focus to the new screen after in-app navigation, as a page load would.
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // A screen that focused something itself (autoFocus) keeps it.
    if (main.current && !main.current.contains(document.activeElement)) main.current.focus({ preventScroll: false });
  }, [pathname]);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/customers" className="logo" aria-label="cardfile home">
            <span className="logo-mark" aria-hidden="true" />
            cardfile
          </Link>
          {viewer && <span className="company-name">{viewer.company.name}</span>}
          <div className="topbar-user">
            {viewer && (
              <span className="user" data-testid="viewer">
                <span className="user-name" data-testid="viewer-name">
                  {viewer.name}
                </span>
                <span className="user-role" data-testid="viewer-role">
                  {roleName(viewer.role)}
                </span>
              </span>
            )}
            <button type="button" className="button button-quiet" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </div>
        {viewer && (
          <nav className="nav" aria-label="Main">
            <ul>
              {nav.map(({ group, items }) => {
                const visible = items.filter((i) => i.show(viewer));
                if (visible.length === 0) return null;
                return (
                  <li key={group} className="nav-group">
                    <span className="nav-group-label">{group}</span>
                    <ul>
                      {visible.map((item) => {
                        const active = item.prefix ? pathname.startsWith(item.prefix) : pathname === item.to;
                        return (
                          <li key={item.to}>
                            <Link to={item.to} aria-current={active ? "page" : undefined}>
                              {item.label}
                            </Link>
                          </li>
                        );
                      })}
                    </ul>
                  </li>
                );
              })}
              {outbox && (
                <li className="nav-group">
                  <span className="nav-group-label">Development</span>
                  <ul>
                    <li>
                      <Link to="/outbox" aria-current={pathname === "/outbox" ? "page" : undefined}>
                        Outbox
                      </Link>
                    </li>
                  </ul>
                </li>
              )}
            </ul>
          </nav>
        )}
      </header>
      <main id="main" ref={main} tabIndex={-1} className="main">
        {viewer ? (
          <ViewerContext.Provider value={viewer}>{children}</ViewerContext.Provider>
        ) : error ? (
          <ErrorBanner error={appError(error)} retry={() => refetch({ requestPolicy: "network-only" })} />
        ) : fetching || !data ? (
          <SkeletonBlock height={240} label="Loading your account…" />
        ) : null}
      </main>
    </div>
  );
}
