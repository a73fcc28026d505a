// "Add New": the gateway's hosted fields in an iframe, a description and
// "make primary"; "Save Card" asks the iframe for a single-use token and
// sends only that token to addCreditCard.
import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { HostedCardFields, HostedFieldsError, type HostedFieldsHandle } from "../gateway/HostedCardFields";
import { appError, fieldErrors, type AppError } from "../lib/errors";
import { Dialog } from "../ui/Dialog";
import { Banner, ErrorBanner, FieldError, SkeletonBlock } from "../ui/bits";
import { AddCreditCardMutation, CardGatewayQuery, type CreditCardItem } from "./documents";

const mutationContext = { additionalTypenames: ["CreditCard"] };

interface Props {
  customerId: string;
  customerName: string;
  firstCard: boolean;
  onClose(): void;
  onSaved(card: CreditCardItem): void;
}

export function AddCardDialog({ customerId, customerName, firstCard, onClose, onSaved }: Props) {
  const [{ data: gw, error: gwError }, refetchGateway] = useQuery({ query: CardGatewayQuery, variables: {} });
  const [, addCard] = useMutation(AddCreditCardMutation);
  const fields = useRef<HostedFieldsHandle>(null);
  const [description, setDescription] = useState("");
  const [makePrimary, setMakePrimary] = useState(firstCard);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [descriptionError, setDescriptionError] = useState<string | undefined>();
  const [duplicate, setDuplicate] = useState(false);

  const save = async (allowDuplicate: boolean) => {
    if (!fields.current || busy) return;
    setBusy(true);
    setError(null);
    setDescriptionError(undefined);
    try {
      // A token is single-use, so every attempt (also "Save anyway") asks for a new one.
      const token = await fields.current.tokenize();
      const res = await addCard(
        {
          input: {
            customerId,
            paymentToken: token.token,
            description: description.trim() || undefined,
            makePrimary: firstCard || makePrimary,
            allowDuplicate,
          },
        },
        mutationContext,
      );
      if (res.data) {
        onSaved(res.data.addCreditCard);
        return;
      }
      const err = appError(res.error);
      const f = fieldErrors(res.error);
      setDuplicate(err?.code === "CONFLICT");
      if (f.description) setDescriptionError(f.description);
      else setError(err);
    } catch (e) {
      if (e instanceof HostedFieldsError) {
        // Field problems are shown inside the card form, next to the field.
        setError({ code: e.code, message: e.field ? "Check the card details above." : e.message });
      } else {
        setError({ code: "INTERNAL", message: "The card could not be saved. Try again." });
      }
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save(false);
  };

  return (
    <Dialog
      title="Add credit card"
      onClose={onClose}
      busy={busy}
      size="large"
      testId="add-card-dialog"
      actions={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          {duplicate && (
            <button type="button" className="button" onClick={() => void save(true)} disabled={busy} data-testid="save-card-anyway">
              Save anyway
            </button>
          )}
          <button type="submit" form="add-card-form" className="button button-primary" disabled={busy || !gw} data-testid="save-card">
            {busy ? "Saving…" : "Save Card"}
          </button>
        </>
      }
    >
      <form id="add-card-form" onSubmit={submit} noValidate>
        <p className="muted">
          Customer: <strong>{customerName}</strong>
          <br />
          The card details go straight to the payment gateway; cardfile keeps only the brand, the last four digits and the expiry.
        </p>
        {gwError ? (
          <ErrorBanner error={appError(gwError)} retry={() => refetchGateway({ requestPolicy: "network-only" })} />
        ) : gw ? (
          <HostedCardFields ref={fields} src={gw.cardGateway.hostedFieldsUrl} />
        ) : (
          <SkeletonBlock height={330} label="Loading the card form…" />
        )}
        <div className="field">
          <label htmlFor="add-card-description">
            Description <span className="optional">(optional)</span>
          </label>
          <input
            id="add-card-description"
            maxLength={100}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            placeholder="e.g. Company Visa"
            aria-invalid={descriptionError ? true : undefined}
            aria-describedby="add-card-description-error"
            data-testid="add-card-description"
          />
          <FieldError id="add-card-description-error" message={descriptionError} />
        </div>
        <div className="field checkbox">
          <input
            id="add-card-primary"
            type="checkbox"
            checked={firstCard || makePrimary}
            disabled={firstCard}
            onChange={(e) => setMakePrimary(e.target.checked)}
            aria-describedby={firstCard ? "add-card-primary-note" : undefined}
            data-testid="add-card-primary"
          />
          <label htmlFor="add-card-primary">Make this the primary card</label>
          {firstCard && (
            <span id="add-card-primary-note" className="muted">
              {" "}
              — a customer's first card is always primary.
            </span>
          )}
        </div>
        <div aria-live="polite">
          {error && (
            <Banner tone={duplicate ? "warning" : "error"} testId="add-card-error" role="alert">
              {error.message}
            </Banner>
          )}
        </div>
      </form>
    </Dialog>
  );
}
