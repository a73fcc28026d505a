// What every browser test shares: the server's URL as baseURL, the demo
// sign-ins, and small helpers for the steps many tests take.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test as base, expect, type APIRequestContext, type FrameLocator, type Locator, type Page } from "@playwright/test";

export { expect };

export const test = base.extend({
  // Set by global-setup.ts once the shared server is up.
  baseURL: async ({}, use) => {
    const url = process.env.CARDFILE_URL;
    if (!url) throw new Error("CARDFILE_URL is not set: global setup did not start cardfile");
    await use(url);
  },
});

/** The demo company's sign-ins (internal/demo). */
export const staff = {
  admin: { email: "admin@blossom.demo", password: "demo-admin-pass", name: "Ada Admin", role: "Admin" },
  creditManager: { email: "credit.manager@blossom.demo", password: "demo-credit-manager-pass", name: "Carla Credit", role: "Credit Manager" },
  salesperson: { email: "salesperson@blossom.demo", password: "demo-salesperson-pass", name: "Sally Seller", role: "Salesperson" },
} as const;

export type Staff = (typeof staff)[keyof typeof staff];

/** Sandbox test cards that tokenize and charge normally. */
export const testCards = {
  visa4242: { number: "4242 4242 4242 4242", last4: "4242" },
  visa1111: { number: "4111 1111 1111 1111", last4: "1111" },
  mastercard4444: { number: "5555 5555 5555 4444", last4: "4444" },
} as const;

/** Signs in through the form, at `origin` (the shared server unless given). */
export async function signIn(page: Page, who: Staff, origin = "") {
  await page.goto(`${origin}/signin`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("viewer-name")).toHaveText(who.name);
}

/** A full-page screenshot into $SCREENSHOTS (the folder `make test-browser` names). */
export async function screenshot(page: Page, name: string) {
  const dir = process.env.SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true, animations: "disabled", caret: "hide" });
}

/** The row of a customer in Setup › Customers. */
export function customerRow(page: Page, code: string): Locator {
  return page.locator(`[data-testid="customer-row"][data-customer-code="${code}"]`);
}

/** Finds a customer by code, opens it with Edit and goes to Manage Credit Cards; returns its ID. */
export async function openManageCards(page: Page, code: string): Promise<string> {
  await page.goto("/customers");
  await page.getByLabel("Name, code or email").fill(code);
  const row = customerRow(page, code);
  await expect(page.getByTestId("customer-row")).toHaveCount(1);
  await expect(row).toBeVisible();
  const id = await row.getAttribute("data-customer-id");
  await row.getByRole("link", { name: /^Edit/ }).click();
  await page.getByRole("tab", { name: "Manage Credit Cards" }).click();
  await expect(page).toHaveURL(new RegExp(`/customers/${id}/cards$`));
  await expect(page.getByTestId("cards-table")).toBeVisible();
  await expect(page.getByTestId("cards-table")).not.toHaveAttribute("aria-busy", "true");
  return id!;
}

/** A card row by its last four digits. */
export function cardRow(page: Page, last4: string): Locator {
  return page.locator(`[data-testid="card-row"][data-last4="${last4}"]`);
}

/** The gateway's hosted card fields inside `scope` (a page or a dialog). */
export function hostedFields(scope: Page | Locator): FrameLocator {
  return scope.frameLocator('[data-testid="hosted-fields"]');
}

/** Types a card into the gateway's iframe the way a person would. */
export async function typeCard(fields: FrameLocator, card: { number: string }, expiry = "12/30") {
  await fields.getByLabel("Card number").pressSequentially(card.number);
  await fields.getByLabel("Expiry").pressSequentially(expiry);
  await fields.getByLabel("Security code").pressSequentially("123");
  await fields.getByLabel("ZIP code").pressSequentially("12345");
}

/** Waits until the hosted fields say they are ready (the iframe posted cardfile:ready). */
export async function waitForHostedFields(scope: Page | Locator) {
  await expect(scope.locator('.hosted-fields[data-ready="true"]')).toBeVisible();
}

export interface OutboxEmail {
  id: number;
  to: string;
  subject: string;
  createdAt: string;
  links: string[];
  text: string;
}

export async function readOutbox(request: APIRequestContext, origin: string): Promise<OutboxEmail[]> {
  const res = await request.get(`${origin}/dev/outbox?format=json`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()) as OutboxEmail[];
}

/** The newest email to `to` with an ID above `afterId` (the background job delivers it). */
export async function waitForEmail(request: APIRequestContext, origin: string, to: string, afterId = 0): Promise<OutboxEmail> {
  let found: OutboxEmail | undefined;
  await expect
    .poll(
      async () => {
        const mails = (await readOutbox(request, origin)).filter((m) => m.to === to && m.id > afterId);
        found = mails.sort((a, b) => b.id - a.id)[0];
        return found?.links.length ?? 0;
      },
      { message: `an email with a link to ${to}`, timeout: 15_000 },
    )
    .toBeGreaterThan(0);
  return found!;
}

/** The highest outbox email ID so far, to tell new emails from old ones. */
export async function lastEmailId(request: APIRequestContext, origin: string): Promise<number> {
  return Math.max(0, ...(await readOutbox(request, origin)).map((m) => m.id));
}

/** A GraphQL call as a staff member, for checking what the screens show against the server. */
export async function staffQuery<T>(request: APIRequestContext, origin: string, who: Staff, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const login = await request.post(`${origin}/query`, {
    data: {
      query: "mutation($input: LoginInput!) { login(input: $input) { token } }",
      variables: { input: { email: who.email, password: who.password } },
    },
  });
  const token = ((await login.json()) as { data: { login: { token: string } } }).data.login.token;
  const res = await request.post(`${origin}/query`, { data: { query, variables }, headers: { Authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!;
}
