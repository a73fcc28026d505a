export const brandNames: Record<string, string> = {
  VISA: "Visa",
  MASTERCARD: "Mastercard",
  AMEX: "American Express",
  DISCOVER: "Discover",
  DINERS: "Diners Club",
  JCB: "JCB",
  UNKNOWN: "Card",
};

export function brandName(brand: string): string {
  return brandNames[brand] ?? brand;
}

/** "•••• 1234", the only form a card number ever takes in this app. */
export function masked(last4: string): string {
  return `•••• ${last4}`;
}

export function expiry(month: number, year: number): string {
  return `${String(month).padStart(2, "0")}/${year}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "—" : dateTime.format(d);
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "—" : dateOnly.format(d);
}

/** "in 7 hours", "3 minutes ago". */
export function relative(iso: string, now = Date.now()): string {
  const diff = new Date(iso).getTime() - now;
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const abs = Math.abs(diff);
  if (abs < 60_000) return rtf.format(Math.round(diff / 1000), "second");
  if (abs < 3_600_000) return rtf.format(Math.round(diff / 60_000), "minute");
  if (abs < 86_400_000) return rtf.format(Math.round(diff / 3_600_000), "hour");
  return rtf.format(Math.round(diff / 86_400_000), "day");
}

export function roleName(role: string): string {
  return role
    .toLowerCase()
    .split("_")
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(" ");
}

/**
 * Normalises a typed amount to the API's decimal string ("125.5" → "125.50")
 * without ever going through a float; null when it is not a positive amount.
 */
export function normaliseAmount(input: string): string | null {
  const s = input.trim().replace(/^\$/, "").replace(/,/g, "");
  const m = /^(\d{1,9})(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return null;
  const whole = m[1]!.replace(/^0+(?=\d)/, "");
  const cents = (m[2] ?? "").padEnd(2, "0");
  if (/^0+$/.test(whole) && cents === "00") return null;
  return `${whole}.${cents}`;
}

/** "$1,234.50" from "1234.50", again without floats. */
export function formatUSD(amount: string): string {
  const [whole = "0", cents = "00"] = amount.split(".");
  return `$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents.padEnd(2, "0")}`;
}

/** "Visa •••• 4242". */
export function cardLabel(card: { brand: string; last4: string }): string {
  return `${brandName(card.brand)} ${masked(card.last4)}`;
}
