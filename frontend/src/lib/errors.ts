import type { CombinedError } from "@urql/core";

/** The codes cardfile puts in extensions.code (DESIGN.md §4). */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "CONFLICT"
  | "CARD_DECLINED"
  | "GATEWAY_UNAVAILABLE"
  | "LINK_UNAVAILABLE"
  | "PAYMENT_NOT_ALLOWED"
  | "RATE_LIMITED"
  | "INTERNAL";

export interface AppError {
  code: ErrorCode | "NETWORK" | string;
  message: string;
  /** The input at fault, for BAD_USER_INPUT. */
  field?: string;
  /** A machine-readable reason (decline code, refusal, OUTCOME_UNKNOWN). */
  reason?: string;
}

const NETWORK_MESSAGE = "cardfile could not be reached. Check your connection and try again.";

/** The first error of a result, with its code, in words fit for people. */
export function appError(error: CombinedError | undefined | null): AppError | null {
  if (!error) return null;
  const first = error.graphQLErrors[0];
  if (first) {
    const ext = (first.extensions ?? {}) as Record<string, unknown>;
    return {
      code: typeof ext.code === "string" ? ext.code : "INTERNAL",
      message: sentence(first.message),
      field: typeof ext.field === "string" ? ext.field : undefined,
      reason: typeof ext.reason === "string" ? ext.reason : undefined,
    };
  }
  return { code: "NETWORK", message: NETWORK_MESSAGE };
}

export function hasCode(error: CombinedError | undefined | null, code: ErrorCode): boolean {
  return !!error?.graphQLErrors.some((e) => (e.extensions as Record<string, unknown> | undefined)?.code === code);
}

/** Messages by input field, for showing next to the field. */
export function fieldErrors(error: CombinedError | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of error?.graphQLErrors ?? []) {
    const ext = (e.extensions ?? {}) as Record<string, unknown>;
    if (ext.code === "BAD_USER_INPUT" && typeof ext.field === "string" && !out[ext.field]) out[ext.field] = sentence(e.message);
  }
  return out;
}

/** Server messages are lower-case clauses ("enter one email address"); show them as sentences. */
export function sentence(message: string): string {
  const m = message.trim();
  if (!m) return m;
  const s = m[0]!.toUpperCase() + m.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
