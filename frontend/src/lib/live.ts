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

/** Called after the socket comes back: events sent meanwhile are lost, so refetch. */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function announceReconnect() {
  for (const l of reconnectListeners) l();
}


/**
 * Runs a subscription while mounted and calls onEvent once per event (not
 * inside a state updater, so StrictMode does not double side effects).
 * `context` should be stable (module constant or memoised).
 */
export function useLiveEvents<Data, Variables extends AnyVariables>(
  query: TypedDocumentNode<Data, Variables>,
  variables: Variables,
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
    const sub = client.subscription(query, JSON.parse(key) as Variables, context).subscribe((result) => {
      if (result.data) handler.current(result.data);
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
