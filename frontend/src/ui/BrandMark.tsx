import { brandName } from "../lib/format";

const marks: Record<string, string> = {
  VISA: "VISA",
  MASTERCARD: "MC",
  AMEX: "AMEX",
  DISCOVER: "DISC",
  DINERS: "DC",
  JCB: "JCB",
  UNKNOWN: "CARD",
};

/** A small brand badge; the brand's name is its text alternative. */
export function BrandMark({ brand }: { brand: string }) {
  return (
    <span className={`brand-mark brand-${brand.toLowerCase()}`} role="img" aria-label={brandName(brand)} title={brandName(brand)}>
      <span aria-hidden="true">{marks[brand] ?? "CARD"}</span>
    </span>
  );
}
