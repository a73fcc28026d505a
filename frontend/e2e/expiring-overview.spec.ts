import { expect, lastEmailId, screenshot, signIn, staff, staffQuery, test, waitForEmail } from "./fixtures";

test("Expiring cards lists cards that expire soon, with one-click Request Cards", async ({ page, baseURL, request }) => {
  await signIn(page, staff.creditManager);
  await page.getByRole("link", { name: "Expiring cards" }).click();
  await expect(page).toHaveURL(/\/expiring$/);
  const rows = page.getByTestId("expiring-row");
  await expect(rows.first()).toBeVisible();
  const shown = await rows.count();
  const { expiringCreditCards } = await staffQuery<{ expiringCreditCards: { totalCount: number } }>(
    request,
    baseURL!,
    staff.creditManager,
    "{ expiringCreditCards(withinDays: 60, first: 1) { totalCount } }",
  );
  expect(shown).toBe(Math.min(50, expiringCreditCards.totalCount));
  await screenshot(page, "expiring-cards");

  // Fairview Fresh Market & Co. (C0009): its only card expires soon.
  const row = page.locator('[data-testid="expiring-row"][data-customer-code="C0009"]');
  await expect(row).toContainText("Expires soon");
  const before = await lastEmailId(request, baseURL!);
  await row.getByTestId("expiring-request-cards").click();
  await expect(row.getByTestId("expiring-request-sent")).toContainText("Link sent to ap@fairviewfreshmarket.example, valid for 8 hours");
  const mail = await waitForEmail(request, baseURL!, "ap@fairviewfreshmarket.example", before);
  expect(mail.links[0]).toMatch(/\/card-request\/[^/]+$/);
  await screenshot(page, "expiring-cards-request-sent");

  // The development outbox shows the email with its link.
  await page.getByRole("link", { name: "Outbox" }).click();
  const outboxEmail = page.locator('[data-testid="outbox-email"][data-to="ap@fairviewfreshmarket.example"]');
  await expect(outboxEmail).toBeVisible();
  await expect(outboxEmail.getByTestId("outbox-link")).toHaveAttribute("href", mail.links[0]!);
  await screenshot(page, "outbox");
});

test("the Overview shows card coverage, expiries per month and request outcomes", async ({ page, baseURL, request }) => {
  const counts = await staffQuery<{ all: { totalCount: number }; withCard: { totalCount: number } }>(
    request,
    baseURL!,
    staff.creditManager,
    `{
      all: customers(where: { active: true }) { totalCount }
      withCard: customers(where: { active: true, hasCreditCards: true }) { totalCount }
    }`,
  );
  await signIn(page, staff.creditManager);
  await page.getByRole("link", { name: "Overview" }).click();
  await expect(page).toHaveURL(/\/overview$/);
  await expect(page.getByTestId("overview-coverage-percent")).toHaveText(`${Math.round((counts.withCard.totalCount / counts.all.totalCount) * 100)}%`);
  await expect(page.getByTestId("overview-coverage")).toContainText(`${counts.withCard.totalCount} of ${counts.all.totalCount} active customers`);

  // Twelve months, consecutive, starting this month.
  const bars = page.getByTestId("overview-bar");
  await expect(bars).toHaveCount(12);
  const months = await bars.evaluateAll((els) => els.map((e) => e.getAttribute("data-month")));
  const now = new Date();
  const expected = Array.from({ length: 12 }, (_, i) => {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  });
  expect(months).toEqual(expected);
  const total = (await bars.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-count"))))).reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(0);

  // Request outcomes add up to the requests sent.
  const sent = Number(await page.getByTestId("overview-requests-sent").innerText());
  let outcomes = 0;
  for (const key of ["pending", "opened", "completed", "expired", "cancelled"]) {
    const text = await page.getByTestId(`overview-requests-${key}`).locator("dd").innerText();
    outcomes += Number(text.split(" ")[0]);
  }
  expect(outcomes).toBe(sent);
  await screenshot(page, "overview");
});
