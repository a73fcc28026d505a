// Routes. Each screen is its own chunk (React.lazy), so the customer's card
// page never loads the staff screens and vice versa.
import { lazy, Suspense, useEffect, type ComponentType, type LazyExoticComponent } from "react";
import { Shell } from "./layout/Shell";
import { matchPath, navigate, safeNext, useLocation } from "./lib/router";
import { signInPath, useSession } from "./lib/session";
import { NoticesProvider } from "./ui/Notices";
import { SkeletonBlock } from "./ui/bits";

const SignInPage = lazy(() => import("./signin/SignInPage"));
const CustomersPage = lazy(() => import("./customers/CustomersPage"));
const CustomerPage = lazy(() => import("./customers/CustomerPage"));
const PaymentsPage = lazy(() => import("./payments/PaymentsPage"));
const CardRequestPage = lazy(() => import("./card-request/CardRequestPage"));
const OutboxPage = lazy(() => import("./outbox/OutboxPage"));
const ExpiringCardsPage = lazy(() => import("./expiring/ExpiringCardsPage"));
const OverviewPage = lazy(() => import("./overview/OverviewPage"));
const NotFoundPage = lazy(() => import("./layout/NotFoundPage"));

type Access = "staff" | "public" | "either";

interface Route {
  path: string;
  access: Access;
  component: LazyExoticComponent<ComponentType<any>>;
  props?: (params: Record<string, string>) => Record<string, unknown>;
}

const routes: Route[] = [
  { path: "/signin", access: "public", component: SignInPage },
  { path: "/card-request/:token", access: "public", component: CardRequestPage, props: (p) => ({ token: p.token }) },
  { path: "/outbox", access: "either", component: OutboxPage },
  { path: "/customers", access: "staff", component: CustomersPage },
  { path: "/customers/:id", access: "staff", component: CustomerPage, props: (p) => ({ id: p.id, tab: "details" }) },
  { path: "/customers/:id/cards", access: "staff", component: CustomerPage, props: (p) => ({ id: p.id, tab: "cards" }) },
  { path: "/payments/receive", access: "staff", component: PaymentsPage, props: () => ({ screen: "RECEIVE_PAYMENTS" }) },
  { path: "/payments/order-entry", access: "staff", component: PaymentsPage, props: () => ({ screen: "ORDER_ENTRY" }) },
  { path: "/payments/accounts-receivable", access: "staff", component: PaymentsPage, props: () => ({ screen: "ACCOUNTS_RECEIVABLE" }) },
  { path: "/expiring", access: "staff", component: ExpiringCardsPage },
  { path: "/overview", access: "staff", component: OverviewPage },
];

function resolve(pathname: string): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (params) return { route, params };
  }
  return null;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

const fallback = <SkeletonBlock height={240} />;

export function App() {
  const { session } = useSession();
  const { pathname } = useLocation();

  if (pathname === "/" || pathname === "") return <Redirect to={session ? "/customers" : "/signin"} />;

  const match = resolve(pathname.replace(/\/+$/, "") || "/");
  const Page = match?.route.component ?? NotFoundPage;
  const props = match?.route.props?.(match.params) ?? {};
  const access = match?.route.access ?? "either";

  if (access === "staff" && !session) return <Redirect to={signInPath()} />;
  if (match?.route.path === "/signin" && session) {
    return <Redirect to={safeNext(new URLSearchParams(window.location.search).get("next"), "/customers")} />;
  }

  const page = (
    <Suspense fallback={fallback}>
      <Page {...props} />
    </Suspense>
  );

  if (access === "public") return <NoticesProvider>{page}</NoticesProvider>;
  if (!session) {
    // The outbox and "not found" work signed out too, without the staff chrome.
    return (
      <NoticesProvider>
        <main id="main" className="main">
          {page}
        </main>
      </NoticesProvider>
    );
  }
  return (
    <NoticesProvider>
      <Shell>{page}</Shell>
    </NoticesProvider>
  );
}
