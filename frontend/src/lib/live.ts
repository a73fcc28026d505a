// The state of the subscription socket, for the "live" indicator and for
// refetching what may have been missed while it was down.
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useClient, type AnyVariables, type OperationContext, type TypedDocumentNode } from "urql";

export type LiveStatus = "idle" | "connecting" | "connected" | "reconnecting";

let status: LiveStatus = "idle";
const statusListeners = new Set<() => void>();
const reconnectListeners = new Set<() => void>();

export function setLiveStatus(next: LiveStatus) {
  if (next === status) return;
  status = next;
  for (const l of statusListeners) l();
}

export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (l) => {
      statusListeners.add(l);
      return () => statusListeners.delete(l);
    },
    () => status,
  );
}

/**
 * Called after the socket comes back. Subscriptions that had an event resume
 * from its cursor; one that had none yet cannot, so refetch as well.
 */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function announceReconnect() {
  for (const l of reconnectListeners) l();
}


/** The cursor of a live event: every event type carries `cursor`. */
function cursorOf(data: unknown): string | null {
  if (typeof data !== "object" || data === null) return null;
  for (const ev of Object.values(data)) {
    if (typeof ev === "object" && ev !== null && typeof (ev as { cursor?: unknown }).cursor === "string") {
      return (ev as { cursor: string }).cursor;
    }
  }
  return null;
}

/**
 * Runs a subscription while mounted and calls onEvent once per event (not
 * inside a state updater, so StrictMode does not double side effects).
 * `context` should be stable (module constant or memoised).
 *
 * It keeps the cursor of the last event and sends it as `after` each time
 * the socket (re)subscribes: graphql-ws resends the same payload after a
 * reconnect, so `after` is a getter read when the payload is serialised,
 * and the server replays what was missed, in order and once. A RESYNC event
 * (the missed events are gone) reaches onEvent like any other: refetch.
 */
export function useLiveEvents<Data, Variables extends AnyVariables & { after?: string | null }>(
  query: TypedDocumentNode<Data, Variables>,
  variables: Omit<Variables, "after">,
  onEvent: (data: Data) => void,
  options: { pause?: boolean; context?: Partial<OperationContext> } = {},
) {
  const client = useClient();
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = JSON.stringify(variables);
  const { pause, context } = options;
  useEffect(() => {
    if (pause) return;
    // A new subscription (another customer) starts from now.
    let cursor: string | null = null;
    const vars = {
      ...(JSON.parse(key) as Omit<Variables, "after">),
      get after() {
        return cursor;
      },
    } as unknown as Variables;
    const sub = client.subscription(query, vars, context).subscribe((result) => {
      if (!result.data) return;
      cursor = cursorOf(result.data) ?? cursor;
      handler.current(result.data);
    });
    return () => sub.unsubscribe();
  }, [client, query, key, pause, context]);
}

/**
 * Returns a function to call on every live event: it refetches once no fetch
 * of the query is in flight. A fetch already running when the event arrived
 * may carry the state from before the change, and urql drops a network-only
 * refetch of an operation that is in flight, so the document cache alone can
 * miss an event that lands mid-fetch (the row would stay "Queued" forever).
 * `busy` is the query's `fetching || stale`.
 */
export function useRefetchAfterEvents(busy: boolean, refetch: () => void): () => void {
  const [pending, setPending] = useState(false);
  useEffect(() => {
    if (!pending || busy) return;
    setPending(false);
    refetch();
  }, [pending, busy, refetch]);
  return useCallback(() => setPending(true), []);
}
