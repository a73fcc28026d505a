import { useRef, useState, type FormEvent } from "react";
import { gql, useMutation } from "urql";
import { appError, fieldErrors } from "../lib/errors";
import { useSearchParams } from "../lib/router";
import { useSession } from "../lib/session";
import { useTitle } from "../lib/title";
import { Banner, FieldError } from "../ui/bits";
import "./signin.css";

interface LoginResult {
  login: { token: string; expiresAt: string; staff: { name: string; role: string } };
}

const LoginMutation = gql<LoginResult, { input: { email: string; password: string } }>`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      token
      expiresAt
      staff {
        id
        name
        role
      }
    }
  }
`;

export default function SignInPage() {
  useTitle("Sign in");
  const { signIn } = useSession();
  const [params] = useSearchParams();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [{ fetching, error }, login] = useMutation(LoginMutation);
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const expired = params.get("reason") === "expired";

  const [local, setLocal] = useState<Record<string, string>>({});
  const fields = { ...fieldErrors(error), ...local };
  const err = appError(error);
  // A wrong password is not a field problem the server pins to one input.
  const formError = err && !err.field ? err : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!email.trim()) missing.email = "Enter your email.";
    if (!password) missing.password = "Enter your password.";
    setLocal(missing);
    if (missing.email) return emailRef.current?.focus();
    if (missing.password) return passwordRef.current?.focus();
    const res = await login({ input: { email: email.trim(), password } });
    if (res.data) {
      signIn({ token: res.data.login.token, expiresAt: res.data.login.expiresAt }, params.get("next"));
      return;
    }
    const f = fieldErrors(res.error);
    if (f.email) emailRef.current?.focus();
    else if (f.password) passwordRef.current?.focus();
  };

  return (
    <div className="signin">
      <main className="signin-card" id="main">
        <div className="signin-brand" aria-hidden="true">
          <span className="logo-mark" /> cardfile
        </div>
        <h1>Sign in</h1>
        {expired && !error && (
          <Banner tone="info" testId="session-expired">
            Your session has ended. Sign in again to continue where you were.
          </Banner>
        )}
        {formError && (
          <Banner tone="error" testId="signin-error">
            {formError.message}
          </Banner>
        )}
        <form onSubmit={submit} noValidate aria-busy={fetching}>
          <div className="field">
            <label htmlFor="signin-email">Email</label>
            <input
              ref={emailRef}
              id="signin-email"
              name="email"
              type="email"
              autoComplete="username"
              required
              autoFocus
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-invalid={fields.email ? true : undefined}
              aria-describedby="signin-email-error"
            />
            <FieldError id="signin-email-error" message={fields.email} />
          </div>
          <div className="field">
            <label htmlFor="signin-password">Password</label>
            <input
              ref={passwordRef}
              id="signin-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={fields.password ? true : undefined}
              aria-describedby="signin-password-error"
            />
            <FieldError id="signin-password-error" message={fields.password} />
          </div>
          <button type="submit" className="button button-primary button-block" disabled={fetching}>
            {fetching ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </main>
    </div>
  );
}
