// The signed-in session: the bearer token (localStorage, so other tabs share
// it and a sign-out anywhere signs out everywhere), the staff client built on
// it, and what happens when the server says the session is over.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { Provider, gql } from "urql";
import { createStaffClient, publicClient } from "./graphql";
import { navigate, safeNext } from "./router";

const STORAGE_KEY = "cardfile.session";

export interface StoredSession {
  token: string;
  expiresAt: string;
}

function load(): StoredSession | null {
  try {
    const raw = window.localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<StoredSession>;
    return typeof s.token === "string" && typeof s.expiresAt === "string" ? { token: s.token, expiresAt: s.expiresAt } : null;
  } catch {
    return null;
  }
}

function save(s: StoredSession | null) {
  try {
    if (s) window.localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Private mode without storage: the session lives in memory only.
  }
}

interface SessionValue {
  session: StoredSession | null;
  signIn(s: StoredSession, next?: string | null): void;
  signOut(): Promise<void>;
  /** The server ended the session: back to sign-in, then back here. */
  expire(): void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error("useSession outside SessionProvider");
  return v;
}

export function signInPath(reason?: "expired"): string {
  const here = window.location.pathname + window.location.search;
  const p = new URLSearchParams();
  if (here !== "/" && !here.startsWith("/signin")) p.set("next", here);
  if (reason) p.set("reason", reason);
  const qs = p.toString();
  return `/signin${qs ? `?${qs}` : ""}`;
}

const LogoutMutation = gql<{ logout: boolean }, Record<string, never>>`
  mutation Logout {
    logout
  }
`;

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<StoredSession | null>(load);

  const current = useRef(session);
  current.current = session;

  const expire = useCallback(() => {
    if (!current.current) return;
    current.current = null;
    save(null);
    setSession(null);
    navigate(signInPath("expired"), { replace: true });
  }, []);

  const staff = useMemo(() => (session ? createStaffClient(session.token, expire) : null), [session, expire]);
  useEffect(() => () => staff?.dispose(), [staff]);

  // Another tab signed in or out.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === STORAGE_KEY) setSession(load());
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  const value = useMemo<SessionValue>(
    () => ({
      session,
      signIn(s, next) {
        save(s);
        setSession(s);
        navigate(safeNext(next, "/customers"), { replace: true });
      },
      async signOut() {
        const client = staff?.client;
        current.current = null; // a late UNAUTHENTICATED from logout is not an expiry
        save(null);
        setSession(null);
        navigate("/signin", { replace: true });
        if (client) await client.mutation(LogoutMutation, {}).toPromise().catch(() => undefined);
      },
      expire,
    }),
    [session, staff, expire],
  );

  return (
    <SessionContext.Provider value={value}>
      <Provider value={staff?.client ?? publicClient}>{children}</Provider>
    </SessionContext.Provider>
  );
}
