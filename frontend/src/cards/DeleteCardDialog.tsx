import { useRef } from "react";
import type { AppError } from "../lib/errors";
import { cardLabel, expiry } from "../lib/format";
import { Dialog } from "../ui/Dialog";
import { Banner } from "../ui/bits";
import type { CreditCardItem } from "./documents";

interface Props {
  card: CreditCardItem;
  busy: boolean;
  error: AppError | null;
  onConfirm(): void;
  onClose(): void;
  fallbackFocus(): HTMLElement | null;
}

/** The confirmation before a card is deleted; its button reads "Yes, Delete". */
export function DeleteCardDialog({ card, busy, error, onConfirm, onClose, fallbackFocus }: Props) {
  const cancel = useRef<HTMLButtonElement>(null);
  return (
    <Dialog
      title="Delete credit card?"
      role="alertdialog"
      size="small"
      onClose={onClose}
      busy={busy}
      testId="delete-card-dialog"
      describedBy="delete-card-text"
      initialFocusRef={cancel}
      fallbackFocus={fallbackFocus}
      actions={
        <>
          <button ref={cancel} type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="button button-danger" onClick={onConfirm} disabled={busy} data-testid="confirm-delete">
            {busy ? "Deleting…" : "Yes, Delete"}
          </button>
        </>
      }
    >
      <div id="delete-card-text">
        <p>
          Delete <strong>{cardLabel(card)}</strong>
          {card.description ? ` (${card.description})` : ""}, expiring {expiry(card.expMonth, card.expYear)}? The card is also removed from
          the payment gateway. This cannot be undone.
        </p>
        {card.isPrimary && <p>This is the primary card: the newest unexpired card becomes primary instead.</p>}
      </div>
      {error && <Banner tone="error">{error.message}</Banner>}
    </Dialog>
  );
}
