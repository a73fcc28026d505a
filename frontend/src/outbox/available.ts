import { useEffect, useState } from "react";

export interface OutboxEmail {
  id: number;
  to: string;
  subject: string;
  createdAt: string;
  links: string[];
  text: string;
}

/** Reads the dev outbox; null when this server has none (not in development mode). */
export async function fetchOutbox(signal?: AbortSignal): Promise<OutboxEmail[] | null> {
  const res = await fetch("/dev/outbox?format=json", { headers: { Accept: "application/json" }, cache: "no-store", signal });
  if (!res.ok || !(res.headers.get("Content-Type") ?? "").includes("application/json")) return null;
  const body: unknown = await res.json();
  return Array.isArray(body) ? (body as OutboxEmail[]) : null;
}

let known: boolean | null = null;

/** Whether the server has a dev outbox; asked once per page load. */
export function useOutboxAvailable(): boolean {
  const [available, setAvailable] = useState(known ?? false);
  useEffect(() => {
    if (known !== null) return;
    const ctl = new AbortController();
    fetchOutbox(ctl.signal)
      .then((list) => {
        known = list !== null;
        setAvailable(known);
      })
      .catch(() => undefined);
    return () => ctl.abort();
  }, []);
  return available;
}
