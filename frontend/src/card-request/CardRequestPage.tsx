// The customer's card form behind an emailed link. Public: it talks to the
// API without any staff token, shows no staff chrome, and works on a phone.
import { useRef, useState, type FormEvent } from "react";
import { gql, Provider, useMutation, useQuery } from "urql";
import { HostedCardFields, HostedFieldsError, type HostedFieldsHandle } from "../gateway/HostedCardFields";
import { publicClient } from "../lib/graphql";
import { appError, type AppError } from "../lib/errors";
import { brandName, formatDateTime } from "../lib/format";
import { useTitle } from "../lib/title";
import { Banner, SkeletonBlock } from "../ui/bits";
import "./card-request.css";

interface CardRequestForm {
  companyName: string;
  customerName: string;
  email: string;
  expiresAt: string;
  hostedFieldsUrl: string;
  status: "PENDING" | "OPENED" | "COMPLETED" | "EXPIRED" | "CANCELLED";
}

const FormQuery = gql<{ cardRequestForm: CardRequestForm }, { token: string }>`
  query CardRequestForm($token: String!) {
    cardRequestForm(token: $token) {
      companyName
      customerName
      email
      expiresAt
      hostedFieldsUrl
      status
    }
  }
`;

const SubmitMutation = gql<{ submitCardRequest: CardRequestForm }, { token: string; paymentToken: string }>`
  mutation SubmitCardRequest($token: String!, $paymentToken: String!) {
    submitCardRequest(token: $token, input: { paymentToken: $paymentToken }) {
      companyName
      customerName
      email
      expiresAt
      hostedFieldsUrl
      status
    }
  }
`;

export default function CardRequestPage({ token }: { token: string }) {
  return (
    <Provider value={publicClient}>
      <div className="public-page">
        <main className="public-card" id="main">
          <CardRequest token={token} />
        </main>
      </div>
    </Provider>
  );
}

function CardRequest({ token }: { token: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: FormQuery, variables: { token } });
  const [, submitCard] = useMutation(SubmitMutation);
  const fields = useRef<HostedFieldsHandle>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<AppError | null>(null);
  const [done, setDone] = useState<{ form: CardRequestForm; brand: string; last4: string } | null>(null);
  const [gone, setGone] = useState(false);
  const form = data?.cardRequestForm;
  const loadError = appError(error);
  useTitle(form ? `Card for ${form.companyName}` : "Enter your card");

  if (done) {
    return (
      <div className="public-done" data-testid="card-request-thanks" role="status">
        <span className="confirmation-icon large" aria-hidden="true">
          ✓
        </span>
        <h1>Thank you</h1>
        <p>
          Your {brandName(done.brand)} card ending {done.last4} is now on file with <strong>{done.form.companyName}</strong>. You can close this
          page.
        </p>
      </div>
    );
  }
  if (gone || loadError?.code === "LINK_UNAVAILABLE" || form?.status === "COMPLETED" || form?.status === "EXPIRED" || form?.status === "CANCELLED") {
    return <LinkUnavailable />;
  }
  if (loadError) {
    return (
      <div data-testid="card-request-error">
        <h1>Something went wrong</h1>
        <Banner tone="error">
          {loadError.code === "RATE_LIMITED" ? "Too many attempts from this network. Wait a minute, then try again." : loadError.message}
        </Banner>
        <button type="button" className="button" onClick={() => refetch({ requestPolicy: "network-only" })}>
          Try again
        </button>
      </div>
    );
  }
  if (!form || fetching) {
    return (
      <>
        <span className="skeleton skeleton-title" />
        <SkeletonBlock height={360} label="Loading the card form…" />
      </>
    );
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!fields.current || busy) return;
    setBusy(true);
    setProblem(null);
    try {
      const t = await fields.current.tokenize();
      const res = await submitCard({ token, paymentToken: t.token });
      if (res.data) {
        setDone({ form: res.data.submitCardRequest, brand: t.brand, last4: t.last4 });
        return;
      }
      const err = appError(res.error)!;
      if (err.code === "LINK_UNAVAILABLE") setGone(true);
      else setProblem(err);
    } catch (e) {
      if (e instanceof HostedFieldsError) setProblem({ code: e.code, message: e.field ? "Please check the card details above." : e.message });
      else setProblem({ code: "INTERNAL", message: "Your card could not be sent. Please try again." });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-busy={busy} data-testid="card-request-form">
      <p className="public-company" data-testid="card-request-company">
        {form.companyName}
      </p>
      <h1>Add a credit card</h1>
      <p>
        {form.companyName} asks <strong>{form.customerName}</strong> for a credit card to keep on file for payments. This link works once,
        until {formatDateTime(form.expiresAt)}.
      </p>
      <HostedCardFields ref={fields} src={form.hostedFieldsUrl} />
      <div aria-live="polite">
        {problem && (
          <Banner tone="error" testId="card-request-problem" role="alert">
            {problem.code === "CARD_DECLINED" ? `${problem.message} Please try another card.` : problem.message}
          </Banner>
        )}
      </div>
      <button type="submit" className="button button-primary button-block button-large" disabled={busy} data-testid="submit-card">
        {busy ? "Sending…" : "Submit Card"}
      </button>
      <p className="public-footer">Your card details go straight to the payment processor; {form.companyName} never sees the full number.</p>
    </form>
  );
}

function LinkUnavailable() {
  return (
    <div className="public-gone" data-testid="link-unavailable">
      <h1>Sorry, this link can't be used</h1>
      <p>This link is no longer valid. Please ask your supplier for a new one.</p>
    </div>
  );
}
