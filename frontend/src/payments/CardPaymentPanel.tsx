// The card payment form shared by the three payment screens.
//
// Idempotency: one key per attempt. Re-sending the same attempt (a network
// failure, a payment still in flight) reuses its key — and its payment token,
// which is single-use — so the server answers with the first result instead
// of charging twice. A definite answer, or any change to the form, starts a
// new attempt.
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { CardGatewayQuery } from "../cards/documents";
import { HostedCardFields, HostedFieldsError, type CardToken, type HostedFieldsHandle } from "../gateway/HostedCardFields";
import { appError, fieldErrors, type AppError } from "../lib/errors";
import { cardLabel, expiry, formatDateTime, formatUSD, masked, normaliseAmount, brandName } from "../lib/format";
import { BrandMark } from "../ui/BrandMark";
import { Banner, ErrorBanner, FieldError, SkeletonBlock } from "../ui/bits";
import { ApplyPaymentMutation, type PayingCustomer, type PaymentResult, type PaymentScreen, type SelectableResult } from "./documents";

const NEW_CARD = "new";
const mutationContext = { additionalTypenames: ["CreditCard"] };

interface Attempt {
  key: string;
  token?: CardToken;
}

/** A key for one payment attempt; randomUUID needs a secure context, getRandomValues does not. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether re-sending the same attempt is the right next step (and safe: same key). */
function sameAttemptNext(err: AppError): boolean {
  return (
    err.code === "NETWORK" ||
    err.code === "CONFLICT" ||
    err.code === "RATE_LIMITED" ||
    err.code === "INTERNAL" ||
    (err.code === "GATEWAY_UNAVAILABLE" && err.reason === "OUTCOME_UNKNOWN")
  );
}

interface Props {
  customer: PayingCustomer;
  screen: PaymentScreen;
  selectable: SelectableResult["selectableCreditCards"];
  referenceLabel: string;
}

export function CardPaymentPanel({ customer, screen, selectable, referenceLabel }: Props) {
  const allowed = selectable.canPayByCard.allowed;
  // Nothing is preselected when card payment is impossible: no card, and no card form to type into.
  const defaultMethod = allowed ? (selectable.defaultCardId ?? selectable.cards.find((c) => c.selectable)?.card.id ?? NEW_CARD) : "";
  const [method, setMethod] = useState(defaultMethod);
  const [touched, setTouched] = useState(false);
  const [amount, setAmount] = useState("");
  const [reference, setReference] = useState("");
  const [saveCard, setSaveCard] = useState(false);
  const [description, setDescription] = useState("");
  const [makePrimary, setMakePrimary] = useState(false);
  const [busy, setBusy] = useState(false);
  const [approved, setApproved] = useState<PaymentResult | null>(null);
  const [failure, setFailure] = useState<AppError | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const attempt = useRef<Attempt | null>(null);
  const hosted = useRef<HostedFieldsHandle>(null);
  const amountRef = useRef<HTMLInputElement>(null);
  const resultRef = useRef<HTMLDivElement>(null);
  const [, apply] = useMutation(ApplyPaymentMutation);
  const [{ data: gw, error: gwError }, refetchGateway] = useQuery({ query: CardGatewayQuery, variables: {}, pause: !allowed || method !== NEW_CARD });

  const chosen = selectable.cards.find((c) => c.card.id === method);

  // Follow the server's default until the user picks; drop a choice that can no longer be charged.
  useEffect(() => {
    if (!touched) setMethod(defaultMethod);
    else if (method && method !== NEW_CARD && !selectable.cards.some((c) => c.card.id === method && c.selectable)) setMethod(defaultMethod);
  }, [defaultMethod, touched, method, selectable.cards]);

  // Any change to what would be charged is a new attempt.
  const change = <T,>(set: (v: T) => void) => (v: T) => {
    attempt.current = null;
    set(v);
  };

  const normalised = normaliseAmount(amount);
  const summary = useMemo(() => {
    if (!normalised) return null;
    const what = method === NEW_CARD ? "the new card" : chosen ? cardLabel(chosen.card) : null;
    return what ? `Charge ${formatUSD(normalised)} to ${what}.` : null;
  }, [normalised, method, chosen]);

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (busy || !allowed) return;
    setFailure(null);
    const local: Record<string, string> = {};
    if (!normalised) local.amount = "Enter an amount greater than zero, like 125.50.";
    if (method !== NEW_CARD && !chosen?.selectable) local.creditCardId = "Choose a card that can be charged.";
    setFields(local);
    if (local.amount) return amountRef.current?.focus();
    if (local.creditCardId) return;

    attempt.current ??= { key: newIdempotencyKey() };
    const current = attempt.current;
    setBusy(true);
    try {
      if (method === NEW_CARD && !current.token) {
        if (!hosted.current) throw new HostedFieldsError("not_ready", "The card form is still loading. Try again in a moment.", null);
        current.token = await hosted.current.tokenize();
      }
      const res = await apply(
        {
          input: {
            customerId: customer.id,
            amount: normalised!,
            screen,
            reference: reference.trim() || undefined,
            idempotencyKey: current.key,
            ...(method === NEW_CARD
              ? { paymentToken: current.token!.token, saveCard, description: saveCard ? description.trim() || undefined : undefined, makePrimary: saveCard && makePrimary }
              : { creditCardId: method }),
          },
        },
        mutationContext,
      );
      if (res.data) {
        attempt.current = null;
        setApproved(res.data.applyCreditCardPayment);
        return;
      }
      const err = appError(res.error)!;
      if (!sameAttemptNext(err)) attempt.current = null;
      const f = fieldErrors(res.error);
      if (Object.keys(f).length) setFields(f);
      setFailure(err);
    } catch (e) {
      if (e instanceof HostedFieldsError) {
        setFailure({ code: "CARD_FIELDS", message: e.field ? "Check the card details in the card form." : e.message });
      } else {
        setFailure({ code: "INTERNAL", message: "The payment could not be sent. Try again." });
      }
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (approved || failure) resultRef.current?.focus();
  }, [approved, failure]);

  const focusAmount = useRef(false);
  const startOver = () => {
    attempt.current = null;
    setApproved(null);
    setFailure(null);
    setAmount("");
    setReference("");
    setSaveCard(false);
    setDescription("");
    setMakePrimary(false);
    setTouched(false);
    focusAmount.current = true;
  };

  // Back from the receipt: the form is new, start at the amount.
  useEffect(() => {
    if (!approved && focusAmount.current) {
      focusAmount.current = false;
      amountRef.current?.focus();
    }
  }, [approved]);

  if (approved) {
    return (
      <section className="panel receipt" data-testid="payment-result" data-status={approved.status} aria-labelledby="receipt-heading">
        <div ref={resultRef} tabIndex={-1} className="receipt-head">
          <span className="confirmation-icon" aria-hidden="true">
            ✓
          </span>
          <h2 id="receipt-heading">Payment approved</h2>
        </div>
        <dl className="receipt-details">
          <dt>Amount</dt>
          <dd data-testid="payment-result-amount">
            {formatUSD(approved.amount)} {approved.currency}
          </dd>
          <dt>Card</dt>
          <dd data-testid="payment-result-card">
            {approved.cardBrand ? brandName(approved.cardBrand) : "Card"} {approved.cardLast4 ? masked(approved.cardLast4) : ""}
          </dd>
          <dt>Customer</dt>
          <dd>{customer.name}</dd>
          {approved.reference && (
            <>
              <dt>{referenceLabel}</dt>
              <dd>{approved.reference}</dd>
            </>
          )}
          {approved.authCode && (
            <>
              <dt>Authorization code</dt>
              <dd className="mono">{approved.authCode}</dd>
            </>
          )}
          {approved.gatewayTransactionID && (
            <>
              <dt>Transaction</dt>
              <dd className="mono">{approved.gatewayTransactionID}</dd>
            </>
          )}
          <dt>Time</dt>
          <dd>{formatDateTime(approved.createdAt)}</dd>
        </dl>
        {approved.savedCard && <p>The card was saved for future payments{approved.creditCard?.isPrimary ? " as the primary card" : ""}.</p>}
        <button type="button" className="button button-primary" onClick={startOver} data-testid="new-payment">
          New payment
        </button>
      </section>
    );
  }

  return (
    <form className="panel payment-form" onSubmit={submit} noValidate aria-busy={busy} data-testid="payment-form">
      {!allowed && (
        <Banner tone="warning" title="Card payments are not possible here" testId="payment-not-allowed">
          {selectable.canPayByCard.reason}
        </Banner>
      )}
      <fieldset disabled={!allowed || busy} className="plain">
        <fieldset className="pay-with" aria-describedby={fields.creditCardId ? "pay-with-error" : undefined}>
          <legend>Pay with</legend>
          {selectable.cards.length === 0 && <p className="muted">No cards on file for this customer.</p>}
          {selectable.cards.map(({ card, selectable: ok, reason: why, isDefault }) => {
            const reasonId = `pay-card-${card.id}-reason`;
            // The banner above already says why no card can be charged.
            const reason = why && why !== selectable.canPayByCard.reason ? why : null;
            return (
              <label
                key={card.id}
                className={`pay-option${ok ? "" : " pay-option-disabled"}${method === card.id ? " pay-option-checked" : ""}`}
                data-testid="pay-card-option"
                data-card-id={card.id}
                data-last4={card.last4}
                data-default={isDefault ? "true" : "false"}
              >
                <input
                  type="radio"
                  name="pay-with"
                  value={card.id}
                  checked={method === card.id}
                  disabled={!ok}
                  onChange={() => {
                    setTouched(true);
                    change(setMethod)(card.id);
                  }}
                  aria-describedby={reason ? reasonId : undefined}
                />
                <BrandMark brand={card.brand} />
                <span className="pay-option-main">
                  <span className="mono">{masked(card.last4)}</span>
                  {card.description && <span className="pay-option-desc">{card.description}</span>}
                  {card.isPrimary && <span className="badge badge-primary">Primary</span>}
                </span>
                <span className="pay-option-exp">
                  Expires {expiry(card.expMonth, card.expYear)}
                  {card.expired ? (
                    <span className="badge badge-danger">Expired</span>
                  ) : card.expiresSoon ? (
                    <span className="badge badge-warning">Expires soon</span>
                  ) : null}
                </span>
                {reason && (
                  <span id={reasonId} className="pay-option-reason">
                    {reason}
                  </span>
                )}
              </label>
            );
          })}
          <label className={`pay-option${method === NEW_CARD ? " pay-option-checked" : ""}`} data-testid="pay-new-card">
            <input
              type="radio"
              name="pay-with"
              value={NEW_CARD}
              checked={method === NEW_CARD}
              onChange={() => {
                setTouched(true);
                change(setMethod)(NEW_CARD);
              }}
            />
            <span className="brand-mark brand-new" aria-hidden="true">
              +
            </span>
            <span className="pay-option-main">A new card</span>
          </label>
          <FieldError id="pay-with-error" message={fields.creditCardId ?? fields.paymentToken} />
        </fieldset>

        {allowed && method === NEW_CARD && (
          <div className="new-card">
            {gwError ? (
              <ErrorBanner error={appError(gwError)} retry={() => refetchGateway({ requestPolicy: "network-only" })} />
            ) : gw ? (
              <HostedCardFields ref={hosted} src={gw.cardGateway.hostedFieldsUrl} />
            ) : (
              <SkeletonBlock height={330} label="Loading the card form…" />
            )}
            <div className="field checkbox">
              <input id="pay-save-card" type="checkbox" checked={saveCard} onChange={(e) => change(setSaveCard)(e.target.checked)} data-testid="pay-save-card" />
              <label htmlFor="pay-save-card">Save for future payments</label>
            </div>
            {saveCard && (
              <div className="save-options">
                <div className="field">
                  <label htmlFor="pay-save-description">
                    Description <span className="optional">(optional)</span>
                  </label>
                  <input
                    id="pay-save-description"
                    maxLength={100}
                    value={description}
                    onChange={(e) => change(setDescription)(e.target.value)}
                    aria-invalid={fields.description ? true : undefined}
                    aria-describedby="pay-save-description-error"
                  />
                  <FieldError id="pay-save-description-error" message={fields.description} />
                </div>
                <div className="field checkbox">
                  <input id="pay-save-primary" type="checkbox" checked={makePrimary} onChange={(e) => change(setMakePrimary)(e.target.checked)} />
                  <label htmlFor="pay-save-primary">Make it the primary card</label>
                </div>
              </div>
            )}
          </div>
        )}

        <div className="form-row">
          <div className="field">
            <label htmlFor="pay-amount">Amount (USD)</label>
            <div className="input-prefix">
              <span aria-hidden="true">$</span>
              <input
                ref={amountRef}
                id="pay-amount"
                inputMode="decimal"
                autoComplete="off"
                placeholder="0.00"
                value={amount}
                onChange={(e) => change(setAmount)(e.target.value)}
                onBlur={() => normalised && setAmount(normalised)}
                aria-invalid={fields.amount ? true : undefined}
                aria-describedby="pay-amount-error"
                data-testid="payment-amount"
              />
            </div>
            <FieldError id="pay-amount-error" message={fields.amount} />
          </div>
          <div className="field field-grow">
            <label htmlFor="pay-reference">
              {referenceLabel} <span className="optional">(optional)</span>
            </label>
            <input
              id="pay-reference"
              maxLength={64}
              value={reference}
              onChange={(e) => change(setReference)(e.target.value)}
              aria-invalid={fields.reference ? true : undefined}
              aria-describedby="pay-reference-error"
              data-testid="payment-reference"
            />
            <FieldError id="pay-reference-error" message={fields.reference} />
          </div>
        </div>
      </fieldset>

      <div ref={resultRef} tabIndex={-1} className="payment-outcome">
        {failure && <PaymentFailure error={failure} onRetry={attempt.current ? () => void submit() : undefined} />}
      </div>

      <div className="form-actions">
        <p className="muted" aria-live="polite" data-testid="payment-summary">
          {allowed ? summary : ""}
        </p>
        <button type="submit" className="button button-primary" disabled={!allowed || busy} data-testid="apply-payment">
          {busy ? "Applying…" : "Apply Payment"}
        </button>
      </div>
    </form>
  );
}

function PaymentFailure({ error, onRetry }: { error: AppError; onRetry?: () => void }) {
  if (error.code === "CARD_DECLINED") {
    return (
      <Banner tone="error" title="Card declined" testId="payment-declined">
        {error.message} Nothing was charged. Try another card or ask the customer for a new one.
      </Banner>
    );
  }
  if (error.code === "GATEWAY_UNAVAILABLE" && error.reason === "OUTCOME_UNKNOWN") {
    return (
      <Banner tone="warning" title="Outcome unknown" testId="payment-unknown">
        {error.message}
      </Banner>
    );
  }
  if (error.code === "PAYMENT_NOT_ALLOWED") {
    return (
      <Banner tone="error" title="Card payments are not possible here" testId="payment-error">
        {error.message}
      </Banner>
    );
  }
  return (
    <Banner tone="error" title="The payment was not applied" testId="payment-error">
      {error.message}{" "}
      {onRetry && (
        <button type="button" className="link-button" onClick={onRetry}>
          Try again
        </button>
      )}
    </Banner>
  );
}
