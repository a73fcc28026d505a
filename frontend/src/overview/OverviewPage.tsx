// The credit manager's overview: how many active customers have a card on
// file, cards expiring per month for the next 12 months, and what became of
// the card requests of the last 30 days. The server aggregates; this page
// only draws.
import { gql, useQuery } from "urql";
import { canSeeOverview, useViewer } from "../layout/viewer";
import { appError } from "../lib/errors";
import { Link } from "../lib/router";
import { useTitle } from "../lib/title";
import { Banner, ErrorBanner, SkeletonBlock } from "../ui/bits";
import "./overview.css";

interface MonthCount {
  month: string;
  count: number;
}

interface Overview {
  activeCustomers: number;
  activeCustomersWithCard: number;
  expiringByMonth: MonthCount[];
  requestsLast30Days: { sent: number; pending: number; opened: number; completed: number; expired: number; cancelled: number };
}

const OverviewQuery = gql<{ cardOverview: Overview }, Record<string, never>>`
  query CardOverview {
    cardOverview {
      activeCustomers
      activeCustomersWithCard
      expiringByMonth {
        month
        count
      }
      requestsLast30Days {
        sent
        pending
        opened
        completed
        expired
        cancelled
      }
    }
  }
`;

const queryContext = { additionalTypenames: ["CreditCard", "CardRequest"] };

export default function OverviewPage() {
  useTitle("Overview");
  const viewer = useViewer();
  const allowed = canSeeOverview(viewer);
  const [{ data, error }, refetch] = useQuery({ query: OverviewQuery, variables: {}, pause: !allowed, context: queryContext, requestPolicy: "cache-and-network" });
  const o = data?.cardOverview;

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <p className="breadcrumb">Cards</p>
          <h1>Overview</h1>
        </div>
      </div>
      {!allowed ? (
        <Banner tone="info" testId="overview-forbidden">
          The overview is for administrators and credit managers.
        </Banner>
      ) : error && !o ? (
        <ErrorBanner error={appError(error)} retry={() => refetch({ requestPolicy: "network-only" })} />
      ) : !o ? (
        <div className="overview-grid">
          <SkeletonBlock height={170} />
          <SkeletonBlock height={170} />
          <SkeletonBlock height={300} />
        </div>
      ) : (
        <div className="overview-grid">
          <CoverageCard withCard={o.activeCustomersWithCard} active={o.activeCustomers} />
          <RequestsCard r={o.requestsLast30Days} />
          <ExpiringChart months={o.expiringByMonth} />
        </div>
      )}
    </div>
  );
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}

function CoverageCard({ withCard, active }: { withCard: number; active: number }) {
  const p = percent(withCard, active);
  return (
    <section className="panel stat-card" aria-labelledby="coverage-heading" data-testid="overview-coverage">
      <h2 id="coverage-heading">Active customers with a card on file</h2>
      <p className="stat-value">
        <span data-testid="overview-coverage-percent">{p}%</span>
      </p>
      <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={p} aria-label="Share of active customers with a card">
        <span style={{ width: `${p}%` }} />
      </div>
      <p className="muted">
        {withCard} of {active} active customers. <Link to="/customers?cards=without">Customers without a card</Link>
      </p>
    </section>
  );
}

const outcomes: { key: keyof Overview["requestsLast30Days"]; label: string; tone: string }[] = [
  { key: "pending", label: "Not opened yet", tone: "info" },
  { key: "opened", label: "Opened", tone: "primary" },
  { key: "completed", label: "Completed", tone: "success" },
  { key: "expired", label: "Expired", tone: "muted" },
  { key: "cancelled", label: "Cancelled", tone: "muted" },
];

function RequestsCard({ r }: { r: Overview["requestsLast30Days"] }) {
  return (
    <section className="panel stat-card" aria-labelledby="requests-30-heading" data-testid="overview-requests">
      <h2 id="requests-30-heading">Card requests, last 30 days</h2>
      <p className="stat-value">
        <span data-testid="overview-requests-sent">{r.sent}</span> <span className="stat-unit">sent</span>
      </p>
      {r.sent > 0 && (
        <div className="stacked-bar" aria-hidden="true">
          {outcomes.map((o) => (r[o.key] > 0 ? <span key={o.key} className={`seg seg-${o.tone}`} style={{ flexGrow: r[o.key] }} /> : null))}
        </div>
      )}
      <dl className="outcome-list">
        {outcomes.map((o) => (
          <div key={o.key} data-testid={`overview-requests-${o.key}`}>
            <dt>
              <span className={`dot seg-${o.tone}`} aria-hidden="true" />
              {o.label}
            </dt>
            <dd>
              {r[o.key]}
              <span className="muted small"> ({percent(r[o.key], r.sent)}%)</span>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function monthLabel(ym: string, style: "short" | "long"): string {
  const [y, m] = ym.split("-").map(Number);
  if (!y || !m) return ym;
  return new Intl.DateTimeFormat(undefined, style === "short" ? { month: "short" } : { month: "long", year: "numeric" }).format(new Date(Date.UTC(y, m - 1, 15)));
}

/** A plain SVG bar chart; the table under it carries the same numbers for screen readers and copying. */
function ExpiringChart({ months }: { months: MonthCount[] }) {
  const highest = Math.max(1, ...months.map((m) => m.count));
  const step = highest <= 5 ? 1 : Math.ceil(highest / 4);
  const max = Math.ceil(highest / step) * step;
  const W = 1000;
  const H = 260;
  const pad = { top: 20, right: 8, bottom: 40, left: 36 };
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const slot = plotW / Math.max(months.length, 1);
  const barW = Math.min(40, slot * 0.62);
  const ticks: number[] = [];
  for (let v = 0; v <= max; v += step) ticks.push(v);

  return (
    <section className="panel chart-card" aria-labelledby="expiring-heading" data-testid="overview-expiring">
      <h2 id="expiring-heading">Cards expiring per month, next 12 months</h2>
      <svg viewBox={`0 0 ${W} ${H}`} className="bar-chart" role="img" aria-labelledby="expiring-heading" aria-describedby="expiring-table">
        {ticks.map((v) => {
          const y = pad.top + plotH - (v / max) * plotH;
          return (
            <g key={v} className="tick">
              <line x1={pad.left} x2={W - pad.right} y1={y} y2={y} />
              <text x={pad.left - 6} y={y} dy="0.32em" textAnchor="end">
                {v}
              </text>
            </g>
          );
        })}
        {months.map((m, i) => {
          const h = (m.count / max) * plotH;
          const x = pad.left + i * slot + (slot - barW) / 2;
          const y = pad.top + plotH - h;
          return (
            <g key={m.month} className="bar" data-testid="overview-bar" data-month={m.month} data-count={m.count}>
              <title>{`${monthLabel(m.month, "long")}: ${m.count}`}</title>
              <rect x={x} y={y} width={barW} height={Math.max(h, m.count > 0 ? 2 : 0)} rx={3} />
              {m.count > 0 && (
                <text x={x + barW / 2} y={y - 4} textAnchor="middle" className="bar-value">
                  {m.count}
                </text>
              )}
              <text x={x + barW / 2} y={H - pad.bottom + 16} textAnchor="middle" className="bar-label">
                {monthLabel(m.month, "short")}
              </text>
              {(i === 0 || m.month.endsWith("-01")) && (
                <text x={x + barW / 2} y={H - pad.bottom + 30} textAnchor="middle" className="bar-year">
                  {m.month.slice(0, 4)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <details className="chart-data">
        <summary>Show as a table</summary>
        <table className="table compact" id="expiring-table">
          <thead>
            <tr>
              <th scope="col">Month</th>
              <th scope="col">Cards expiring</th>
            </tr>
          </thead>
          <tbody>
            {months.map((m) => (
              <tr key={m.month}>
                <td>{monthLabel(m.month, "long")}</td>
                <td>{m.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      <p className="muted small">
        <Link to="/expiring">See the cards expiring in the next 60 days</Link>
      </p>
    </section>
  );
}
