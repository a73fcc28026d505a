// The customer's cards: brand, •••• last4, expiry (flagged when expired or
// expiring soon), a description edited in place (Enter saves, Esc cancels),
// the Primary radio and Delete.
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useMutation } from "urql";
import { appError, fieldErrors } from "../lib/errors";
import { cardLabel, expiry, formatDate, masked } from "../lib/format";
import { useNotices } from "../ui/Notices";
import { BrandMark } from "../ui/BrandMark";
import { FieldError, SkeletonRows } from "../ui/bits";
import { EditCreditCardMutation, SetPrimaryCreditCardMutation, type CreditCardItem } from "./documents";

const mutationContext = { additionalTypenames: ["CreditCard"] };

/** Arrow keys move a radio group's choice at once; wait for the user to settle before saving. */
const PRIMARY_SETTLE_MS = 350;

const sourceText: Record<CreditCardItem["source"], string> = {
  STAFF: "Added by staff",
  CUSTOMER_FORM: "Entered by the customer",
  PAYMENT: "Saved with a payment",
};

interface Props {
  customerId: string;
  cards: CreditCardItem[] | null;
  loading: boolean;
  highlightId: string | null;
  onDelete(card: CreditCardItem, button: HTMLButtonElement): void;
}

export function CardsTable({ customerId, cards, loading, highlightId, onDelete }: Props) {
  const { notify } = useNotices();
  const [, setPrimary] = useMutation(SetPrimaryCreditCardMutation);
  const [chosen, setChosen] = useState<string | null>(null);
  const [primaryError, setPrimaryError] = useState<string | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const list = cards ?? [];

  // Once the list shows the new primary, the server's word takes over again.
  useEffect(() => {
    if (chosen && list.find((c) => c.id === chosen)?.isPrimary) setChosen(null);
  }, [chosen, list]);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const choose = (card: CreditCardItem) => {
    setChosen(card.id);
    setPrimaryError(null);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(async () => {
      if (list.find((c) => c.id === card.id)?.isPrimary) {
        setChosen(null);
        return;
      }
      const res = await setPrimary({ id: card.id }, mutationContext);
      if (res.data) {
        notify(`${cardLabel(card)} is now the primary card.`);
      } else {
        setChosen(null);
        setPrimaryError(appError(res.error)?.message ?? "The primary card could not be changed.");
      }
    }, PRIMARY_SETTLE_MS);
  };

  const primaryId = chosen ?? list.find((c) => c.isPrimary)?.id ?? null;

  return (
    <>
      {primaryError && (
        <p className="field-error" role="alert" data-testid="primary-error">
          {primaryError}
        </p>
      )}
      <div className="table-wrap">
        <table className="table cards-table" data-testid="cards-table" aria-busy={loading}>
          <caption className="visually-hidden">Credit cards on file</caption>
          <thead>
            <tr>
              <th scope="col" className="primary-col">
                Primary
              </th>
              <th scope="col">Card</th>
              <th scope="col">Description</th>
              <th scope="col">Expires</th>
              <th scope="col">Added</th>
              <th scope="col" className="actions-col">
                Actions
              </th>
            </tr>
          </thead>
          <tbody>
            {cards === null && loading ? (
              <SkeletonRows rows={3} columns={6} />
            ) : list.length === 0 ? (
              <tr>
                <td colSpan={6} className="empty" data-testid="no-cards">
                  No credit cards on file. Use <strong>Add New</strong> to enter one, or <strong>Request Cards</strong> to ask the customer.
                </td>
              </tr>
            ) : (
              list.map((card) => (
                <CardRow
                  key={card.id}
                  customerId={customerId}
                  card={card}
                  checked={primaryId === card.id}
                  highlight={highlightId === card.id}
                  onChoosePrimary={() => choose(card)}
                  onDelete={onDelete}
                />
              ))
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

function CardRow({
  customerId,
  card,
  checked,
  highlight,
  onChoosePrimary,
  onDelete,
}: {
  customerId: string;
  card: CreditCardItem;
  checked: boolean;
  highlight: boolean;
  onChoosePrimary(): void;
  onDelete(card: CreditCardItem, button: HTMLButtonElement): void;
}) {
  const label = cardLabel(card);
  const expiredNote = `card-${card.id}-primary-note`;
  return (
    <tr
      className={highlight ? "row-new" : undefined}
      data-testid="card-row"
      data-card-id={card.id}
      data-last4={card.last4}
      data-primary={card.isPrimary ? "true" : "false"}
    >
      <td className="primary-col">
        <input
          type="radio"
          name={`primary-card-${customerId}`}
          checked={checked}
          disabled={card.expired}
          onChange={onChoosePrimary}
          aria-label={`Primary: ${label}`}
          aria-describedby={card.expired ? expiredNote : undefined}
          data-testid="card-primary"
        />
        {card.expired && (
          <span id={expiredNote} className="visually-hidden">
            An expired card cannot be primary.
          </span>
        )}
      </td>
      <td>
        <span className="card-cell">
          <BrandMark brand={card.brand} />
          <span className="mono" data-testid="card-number">
            {masked(card.last4)}
          </span>
          {card.isPrimary && <span className="badge badge-primary">Primary</span>}
        </span>
      </td>
      <td className="description-col">
        <DescriptionEditor card={card} label={label} />
      </td>
      <td data-testid="card-expiry">
        <span className="mono">{expiry(card.expMonth, card.expYear)}</span>{" "}
        {card.expired ? (
          <span className="badge badge-danger" data-testid="badge-expired">
            Expired
          </span>
        ) : card.expiresSoon ? (
          <span className="badge badge-warning" data-testid="badge-expiring">
            Expires soon
          </span>
        ) : null}
      </td>
      <td className="muted small">
        {sourceText[card.source]}
        <br />
        {formatDate(card.createdAt)}
      </td>
      <td className="actions-col">
        <button
          type="button"
          className="button button-small button-danger-quiet"
          onClick={(e) => onDelete(card, e.currentTarget)}
          aria-label={`Delete ${label}`}
          data-testid="card-delete"
        >
          Delete
        </button>
      </td>
    </tr>
  );
}

/** Click the description to edit it; Enter saves, Esc cancels. */
function DescriptionEditor({ card, label }: { card: CreditCardItem; label: string }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(card.description);
  const [{ fetching }, edit] = useMutation(EditCreditCardMutation);
  const [message, setMessage] = useState<string | undefined>();
  const input = useRef<HTMLInputElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const { notify } = useNotices();
  const errorId = `card-${card.id}-description-error`;

  const refocus = useRef(false);
  useEffect(() => {
    if (editing) input.current?.select();
    else if (refocus.current) {
      refocus.current = false;
      button.current?.focus();
    }
  }, [editing]);

  const start = () => {
    setValue(card.description);
    setMessage(undefined);
    setEditing(true);
  };
  const stop = () => {
    setEditing(false);
    setMessage(undefined);
    refocus.current = true;
  };
  const save = async () => {
    const next = value.trim();
    if (next === card.description) return stop();
    if (!next) {
      setMessage("Enter a description, or press Esc to keep the current one.");
      return;
    }
    const res = await edit({ id: card.id, description: next }, mutationContext);
    if (res.data) {
      notify("Description saved.");
      stop();
    } else {
      setMessage(fieldErrors(res.error).description ?? appError(res.error)?.message);
      input.current?.focus();
    }
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      if (!fetching) void save();
    } else if (e.key === "Escape") {
      // Esc here cancels the edit, not a surrounding dialog.
      e.preventDefault();
      e.stopPropagation();
      stop();
    }
  };

  if (!editing) {
    return (
      <button ref={button} type="button" className="inline-edit" onClick={start} data-testid="card-description">
        <span className="visually-hidden">Edit description of {label}: </span>
        {card.description ? card.description : <span className="placeholder">Add a description</span>}
        <span className="inline-edit-icon" aria-hidden="true">
          ✎
        </span>
      </button>
    );
  }
  return (
    <div className="inline-editor">
      <input
        ref={input}
        value={value}
        maxLength={100}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={onKeyDown}
        readOnly={fetching}
        aria-busy={fetching || undefined}
        aria-label={`Description of ${label}`}
        aria-invalid={message ? true : undefined}
        aria-describedby={`${errorId} ${errorId}-hint`}
        data-testid="card-description-input"
      />
      <p id={`${errorId}-hint`} className="hint">
        Enter to save · Esc to cancel
      </p>
      <FieldError id={errorId} message={message} />
    </div>
  );
}
