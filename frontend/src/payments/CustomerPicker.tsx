// A customer combobox: type a name, code or email, pick with the arrow keys
// and Enter (or a click).
import { useEffect, useId, useMemo, useState, type KeyboardEvent } from "react";
import { useQuery } from "urql";
import { searchWhere } from "../customers/documents";
import { CustomerSearchQuery, type PickerCustomer } from "./documents";

export function CustomerPicker({ onPick, autoFocus }: { onPick(c: PickerCustomer): void; autoFocus?: boolean }) {
  const id = useId();
  const listId = `${id}-options`;
  const [text, setText] = useState("");
  const [term, setTerm] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);

  useEffect(() => {
    const t = window.setTimeout(() => setTerm(text.trim()), 200);
    return () => window.clearTimeout(t);
  }, [text]);

  const variables = useMemo(() => ({ where: { ...searchWhere(term), active: true }, first: 8 }), [term]);
  const [{ data, fetching }] = useQuery({ query: CustomerSearchQuery, variables, pause: !open });
  const options = (data?.customers.edges ?? []).map((e) => e?.node).filter((n): n is PickerCustomer => !!n);
  useEffect(() => setActive(0), [term]);

  const pick = (c: PickerCustomer) => {
    setOpen(false);
    setText("");
    onPick(c);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, Math.max(options.length - 1, 0)));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === "Enter") {
      if (open && options[active]) {
        e.preventDefault();
        pick(options[active]);
      }
    } else if (e.key === "Escape") {
      if (open) {
        e.preventDefault();
        setOpen(false);
      }
    }
  };

  const expanded = open && (options.length > 0 || (!fetching && !!data));
  return (
    <div className="combobox">
      <label htmlFor={`${id}-input`}>Customer</label>
      <input
        id={`${id}-input`}
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && options[active] ? `${id}-opt-${options[active].id}` : undefined}
        autoComplete="off"
        autoFocus={autoFocus}
        placeholder="Search by name, code or email"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
        data-testid="customer-picker"
      />
      <ul id={listId} role="listbox" aria-label="Search results" className="combobox-options" hidden={!expanded}>
        {options.length === 0 ? (
          <li className="combobox-empty" role="presentation">
            No active customer matches “{term}”.
          </li>
        ) : (
          options.map((c, i) => (
            <li
              key={c.id}
              id={`${id}-opt-${c.id}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : undefined}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => pick(c)}
              onMouseEnter={() => setActive(i)}
            >
              <span>{c.name}</span>
              <span className="muted small mono">
                {c.code} · {c.defaultCurrency}
              </span>
            </li>
          ))
        )}
      </ul>
    </div>
  );
}
