import {
  cardRow,
  expect,
  hostedFields,
  lastEmailId,
  openManageCards,
  screenshot,
  signIn,
  staff,
  test,
  testCards,
  typeCard,
  waitForEmail,
  waitForHostedFields,
} from "./fixtures";

const UNAVAILABLE = "This link is no longer valid. Please ask your supplier for a new one.";

test("a card the customer enters through an emailed link appears in the open tab without reload", async ({ page, browser, baseURL, request }) => {
  const customerEmail = "billing@prairiegreenhouse.example";
  await signIn(page, staff.admin);
  await openManageCards(page, "C0010"); // Prairie Greenhouse LLC: no cards
  await expect(page.getByTestId("no-cards")).toBeVisible();
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  const before = await lastEmailId(request, baseURL!);
  // Set once; a reload would clear it.
  await page.evaluate(() => ((window as unknown as { untouched: boolean }).untouched = true));

  // Request Cards → Send Form → the confirmation.
  await page.getByRole("button", { name: "Request Cards" }).click();
  const dialog = page.getByTestId("request-cards-dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel("Email address")).toHaveValue(customerEmail);
  await expect(dialog.getByLabel("Email address")).toBeFocused();
  await screenshot(page, "request-cards-dialog");
  await dialog.getByRole("button", { name: "Send Form" }).click();
  const confirmation = page.getByTestId("request-confirmation");
  await expect(confirmation).toContainText("The link is valid for 8 hours");
  await expect(confirmation).toContainText(customerEmail);
  await expect(confirmation.getByRole("button", { name: "OK" })).toBeFocused();
  await screenshot(page, "request-cards-confirmation");
  await confirmation.getByRole("button", { name: "OK" }).click();
  await expect(confirmation).toBeHidden();
  const requestRow = page.getByTestId("request-row").first();
  await expect(requestRow).toHaveAttribute("data-status", "PENDING");
  await expect(requestRow.getByTestId("request-status")).toHaveText("Waiting");
  await expect(requestRow.getByTestId("request-resend")).toBeVisible();
  await expect(requestRow.getByTestId("request-cancel")).toBeVisible();
  // The email job runs in the background: wait for the email itself, then the
  // open tab must show it went out (the delivery arrives as a live event).
  const email = await waitForEmail(request, baseURL!, customerEmail, before);
  await expect(requestRow.getByTestId("request-delivery")).toHaveText("Emailed");

  // The customer: a second browser context with no staff session, phone-sized.
  const customer = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 }, locale: "en-US" });
  try {
    const outbox = await customer.newPage();
    await outbox.goto("/outbox");
    const mail = outbox.locator(`[data-testid="outbox-email"][data-to="${customerEmail}"]`).first();
    await expect(mail).toBeVisible();
    await expect(mail.getByTestId("outbox-link")).toHaveAttribute("href", email.links[0]!);
    await screenshot(outbox, "outbox-signed-out-phone");
    const [form] = await Promise.all([customer.waitForEvent("page"), mail.getByTestId("outbox-link").click()]);
    await form.waitForLoadState();
    expect(form.url()).toBe(email.links[0]);

    await expect(form.getByTestId("card-request-form")).toBeVisible();
    await expect(form.getByTestId("card-request-company")).toHaveText("Blossom Wholesale Supply");
    await expect(form.getByText("Prairie Greenhouse LLC")).toBeVisible();
    // No staff chrome on the customer's page.
    await expect(form.getByRole("button", { name: "Sign out" })).toHaveCount(0);
    await expect(form.getByRole("navigation")).toHaveCount(0);
    await waitForHostedFields(form);
    await screenshot(form, "customer-card-form");
    await typeCard(hostedFields(form), testCards.visa1111);
    await screenshot(form, "customer-card-form-filled");
    await form.getByRole("button", { name: "Submit Card" }).click();
    await expect(form.getByTestId("card-request-thanks")).toContainText("Visa card ending 1111");
    await expect(form.getByTestId("card-request-thanks")).toContainText("Blossom Wholesale Supply");
    await screenshot(form, "customer-card-thanks");

    // The staff tab, untouched since: the notice and the new row arrive over the subscription.
    await expect(page.getByTestId("customer-card-notice")).toHaveText(/The customer entered a new card: Visa •••• 1111\./);
    await expect(cardRow(page, "1111")).toBeVisible();
    await expect(cardRow(page, "1111")).toHaveAttribute("data-primary", "true");
    await expect(requestRow).toHaveAttribute("data-status", "COMPLETED");
    await expect(requestRow.getByTestId("request-status")).toHaveText("Completed");
    expect(await page.evaluate(() => (window as unknown as { untouched?: boolean }).untouched), "the staff tab was not reloaded").toBe(true);
    await screenshot(page, "manage-cards-customer-card-arrived");

    // A used link is an unusable link: the same friendly page as any other.
    await form.reload();
    await expect(form.getByTestId("link-unavailable")).toContainText(UNAVAILABLE);
    await expect(form.getByTestId("card-request-form")).toHaveCount(0);
    await screenshot(form, "link-unavailable-used");
    await form.goto("/card-request/not-a-real-token");
    await expect(form.getByTestId("link-unavailable")).toContainText(UNAVAILABLE);
  } finally {
    await customer.close();
  }
});

test("an expired link shows the friendly page", async ({ page, browser, request }) => {
  // The second server: links work for a few seconds only.
  const origin = process.env.CARDFILE_SHORT_LINK_URL!;
  const ttlMs = Number(process.env.CARDFILE_SHORT_LINK_TTL) * 1000;
  const customerEmail = "accounts@juniperevents.example";
  await signIn(page, staff.admin, origin);
  await page.getByLabel("Name, code or email").fill("C0016"); // Juniper Events Inc.
  await page.locator('[data-testid="customer-row"][data-customer-code="C0016"]').getByRole("link", { name: /^Edit/ }).click();
  await page.getByRole("tab", { name: "Manage Credit Cards" }).click();
  const before = await lastEmailId(request, origin);
  await page.getByRole("button", { name: "Request Cards" }).click();
  const sentAt = Date.now();
  await page.getByTestId("request-cards-dialog").getByRole("button", { name: "Send Form" }).click();
  await expect(page.getByTestId("request-confirmation")).toBeVisible();
  // The server set the expiry between sentAt and now.
  const expiredBy = Date.now() + ttlMs + 500;
  const email = await waitForEmail(request, origin, customerEmail, before);

  const customer = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-US" });
  try {
    const form = await customer.newPage();
    // While it is valid, the link opens the card form…
    await form.goto(email.links[0]!);
    await expect(form.getByTestId("card-request-form")).toBeVisible();
    expect(Date.now() - sentAt, "the form was reached while the link was still valid").toBeLessThan(ttlMs);

    // …and once its time is up, the friendly page.
    await form.waitForTimeout(Math.max(0, expiredBy - Date.now()));
    await form.reload();
    await expect(form.getByTestId("link-unavailable")).toContainText(UNAVAILABLE);
    await expect(form.getByTestId("card-request-form")).toHaveCount(0);
    await screenshot(form, "link-unavailable-expired");
  } finally {
    await customer.close();
  }

  // The staff tab shows the request as expired.
  await page.reload();
  await expect(page.getByTestId("request-row").first().getByTestId("request-status")).toHaveText("Expired");
});
