// "Request Cards": email the customer a single-use link to a page where they
// enter a card themselves. Used from Manage Credit Cards, Order Entry and the
// expiring-cards list.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { appError, fieldErrors } from "../lib/errors";
import { formatDateTime } from "../lib/format";
import { Dialog } from "../ui/Dialog";
import { Banner, FieldError } from "../ui/bits";
import { RequestCardMutation, type CardRequestItem } from "./documents";

const mutationContext = { additionalTypenames: ["CardRequest"] };

interface Props {
  customerId: string;
  customerName: string;
  defaultEmail: string | null;
  onClose(): void;
  onSent?(request: CardRequestItem): void;
  fallbackFocus?: () => HTMLElement | null;
}

export function RequestCardsDialog({ customerId, customerName, defaultEmail, onClose, onSent, fallbackFocus }: Props) {
  const [email, setEmail] = useState(defaultEmail ?? "");
  const [sent, setSent] = useState<CardRequestItem | null>(null);
  const [{ fetching, error }, requestCard] = useMutation(RequestCardMutation);
  const [localError, setLocalError] = useState<string | undefined>();
  const emailRef = useRef<HTMLInputElement>(null);
  const doneRef = useRef<HTMLButtonElement>(null);
  const fields = fieldErrors(error);
  const err = appError(error);
  const emailError = localError ?? fields.email;

  // The confirmation replaces the form: move focus to its button.
  useEffect(() => {
    if (sent) doneRef.current?.focus();
  }, [sent]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const to = email.trim();
    if (!to) {
      setLocalError("Enter the email address to send the form to.");
      emailRef.current?.focus();
      return;
    }
    setLocalError(undefined);
    const res = await requestCard({ input: { customerId, email: to } }, mutationContext);
    if (res.data) {
      setSent(res.data.requestCard);
      onSent?.(res.data.requestCard);
    } else if (fieldErrors(res.error).email) {
      emailRef.current?.focus();
    }
  };

  return (
    <Dialog
      title={sent ? "Form sent" : "Request Card"}
      onClose={onClose}
      busy={fetching}
      size="small"
      testId={sent ? "request-confirmation" : "request-cards-dialog"}
      initialFocusRef={emailRef}
      fallbackFocus={fallbackFocus}
      actions={
        sent ? (
          <button ref={doneRef} type="button" className="button button-primary" onClick={onClose} data-testid="request-confirmation-close">
            OK
          </button>
        ) : (
          <>
            <button type="button" className="button" onClick={onClose} disabled={fetching}>
              Cancel
            </button>
            <button type="submit" form="request-cards-form" className="button button-primary" disabled={fetching} data-testid="send-form">
              {fetching ? "Sending…" : "Send Form"}
            </button>
          </>
        )
      }
    >
      {sent ? (
        <p className="confirmation" role="status">
          <span className="confirmation-icon" aria-hidden="true">
            ✓
          </span>
          <span>
            A link to enter a credit card was sent to <strong data-testid="request-confirmation-email">{sent.email}</strong>.{" "}
            <strong>The link is valid for 8 hours</strong> (until {formatDateTime(sent.expiresAt)}) and works once.
          </span>
        </p>
      ) : (
        <form id="request-cards-form" onSubmit={submit} noValidate>
          <p className="muted">
            {customerName} will get an email with a link to a secure page where they enter a credit card. The link is valid for 8 hours.
          </p>
          {err && !err.field && <Banner tone="error">{err.message}</Banner>}
          <div className="field">
            <label htmlFor="request-email">Email address</label>
            <input
              ref={emailRef}
              id="request-email"
              type="email"
              autoComplete="off"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-invalid={emailError ? true : undefined}
              aria-describedby="request-email-error"
              data-testid="request-email"
            />
            <FieldError id="request-email-error" message={emailError} />
          </div>
        </form>
      )}
    </Dialog>
  );
}
