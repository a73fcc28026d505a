// The two urql clients: the staff client (bearer token, subscriptions over
// graphql-ws, UNAUTHENTICATED → sign in again) and the public client for the
// sign-in form and the customer's card page, which never sends a token.
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWSClient, type Client as WSClient } from "graphql-ws";
import { announceReconnect, setLiveStatus } from "./live";

const endpoint = "/query";

function websocketURL(): string {
  const u = new URL(endpoint, window.location.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/** graphql-transport-ws closes with 4403 when connection_init's token is refused. */
const CLOSE_FORBIDDEN = 4403;
/** A server shutting down closes with 1001: another replica (or the restarted one) takes over at once. */
const CLOSE_GOING_AWAY = 1001;

function closeCode(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof (e as { code: unknown }).code === "number"
    ? (e as { code: number }).code
    : undefined;
}

export interface StaffClient {
  client: Client;
  dispose(): void;
}

export function createStaffClient(token: string, onUnauthenticated: () => void): StaffClient {
  let ws: WSClient | null = null;
  let lastClose: number | undefined;
  const socket = () => {
    ws ??= createWSClient({
      url: websocketURL(),
      lazy: true,
      connectionParams: () => ({ Authorization: `Bearer ${token}` }),
      // Keep trying through server restarts and network blips, but give up
      // on a refused token: that is a sign-in matter, not a network one.
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: (e) => closeCode(e) !== CLOSE_FORBIDDEN,
      // A replica going away (1001) is no network trouble: come back within a
      // quarter second (spread, so its clients do not all land at once);
      // anything else backs off.
      retryWait: (retries) => {
        const ms = lastClose === CLOSE_GOING_AWAY && retries === 0 ? Math.random() * 250 : Math.min(15_000, 1000 * 2 ** retries) * (0.5 + Math.random() / 2);
        return new Promise((r) => setTimeout(r, ms));
      },
      on: {
        connecting: (isRetry) => setLiveStatus(isRetry ? "reconnecting" : "connecting"),
        connected: (_socket, _payload, wasRetry) => {
          setLiveStatus("connected");
          if (wasRetry) announceReconnect();
        },
        closed: (e) => {
          lastClose = closeCode(e);
          if (lastClose === CLOSE_FORBIDDEN) onUnauthenticated();
          setLiveStatus("idle");
        },
      },
    });
    return ws;
  };

  const client = new Client({
    url: endpoint,
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { Authorization: `Bearer ${token}` } }),
    exchanges: [
      cacheExchange,
      mapExchange({
        onResult(result) {
          const unauthenticated = result.error?.graphQLErrors.some(
            (e) => (e.extensions as Record<string, unknown> | undefined)?.code === "UNAUTHENTICATED",
          );
          if (unauthenticated) onUnauthenticated();
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = socket().subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    dispose() {
      void ws?.dispose();
      ws = null;
      setLiveStatus("idle");
    },
  };
}

/** Sign-in and the customer's card page: no Authorization header, no cache between pages. */
export const publicClient = new Client({
  url: endpoint,
  preferGetMethod: false,
  requestPolicy: "network-only",
  exchanges: [fetchExchange],
});
