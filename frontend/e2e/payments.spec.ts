import { expect, screenshot, signIn, staff, test } from "./fixtures";

test("Receive Payments charges the preselected primary card", async ({ page }) => {
  await signIn(page, staff.admin);
  await page.getByRole("link", { name: "Receive Payments" }).click();
  await expect(page).toHaveURL(/\/payments\/receive$/);
  await expect(page.getByRole("heading", { name: "Receive Payments" })).toBeVisible();
  await screenshot(page, "receive-payments");

  // Fairview Floral Co. (C0015): •••• 4242 primary, two other cards.
  await page.getByLabel("Customer").fill("C0015");
  await page.getByRole("option", { name: /Fairview Floral Co\./ }).click();
  await expect(page).toHaveURL(/\/payments\/receive\?customer=\d+$/);
  await expect(page.getByTestId("payment-customer-name")).toHaveText("Fairview Floral Co.");
  const options = page.getByTestId("pay-card-option");
  await expect(options).toHaveCount(3);
  const preselected = page.locator('[data-testid="pay-card-option"][data-default="true"]');
  await expect(preselected).toHaveCount(1);
  await expect(preselected).toHaveAttribute("data-last4", "4242");
  await expect(preselected).toContainText("Primary");
  await expect(preselected.locator("input")).toBeChecked();

  await page.getByLabel("Amount (USD)").fill("125.5");
  await expect(page.getByTestId("payment-summary")).toHaveText("Charge $125.50 to Visa •••• 4242.");
  await screenshot(page, "receive-payments-customer");
  await page.getByRole("button", { name: "Apply Payment" }).click();

  const result = page.getByTestId("payment-result");
  await expect(result).toHaveAttribute("data-status", "APPROVED");
  await expect(result).toContainText("Payment approved");
  await expect(page.getByTestId("payment-result-amount")).toContainText("$125.50");
  await expect(page.getByTestId("payment-result-card")).toHaveText("Visa •••• 4242");
  await screenshot(page, "receive-payments-approved");

  // New payment: back to the form, the primary card preselected again.
  await page.getByRole("button", { name: "New payment" }).click();
  await expect(page.getByLabel("Amount (USD)")).toBeFocused();
  await expect(preselected.locator("input")).toBeChecked();
});

test("Order Entry: the customer's name leads to Manage Credit Cards and back", async ({ page }) => {
  await signIn(page, staff.admin);
  await page.getByRole("link", { name: "Order Entry" }).click();
  await page.getByLabel("Customer").fill("Stonebridge Blooms");
  await page.getByRole("option", { name: /Stonebridge Blooms Co\./ }).click(); // C0017
  await expect(page.getByTestId("payment-customer-name")).toHaveText("Stonebridge Blooms Co.");
  await expect(page.locator('[data-testid="pay-card-option"][data-default="true"] input')).toBeChecked();
  await expect(page.getByRole("button", { name: "Request Cards" })).toBeVisible();
  await screenshot(page, "order-entry");

  const orderEntry = page.url();
  await page.getByTestId("payment-customer-name").click();
  await expect(page).toHaveURL(/\/customers\/\d+\/cards\?back=/);
  await expect(page.getByTestId("cards-table")).toBeVisible();
  await page.getByRole("link", { name: "← Back to Order Entry" }).click();
  await expect(page).toHaveURL(orderEntry);
});

test("Accounts Receivable: an expired card cannot be chosen; a new card can be saved", async ({ page }) => {
  await signIn(page, staff.admin);
  await page.getByLabel("Name, code or email").fill("C0020"); // Fairview Farms Co.: its only card has expired
  const id = await page.locator('[data-testid="customer-row"][data-customer-code="C0020"]').getAttribute("data-customer-id");
  await page.goto(`/payments/accounts-receivable?customer=${id}`);
  await expect(page.getByRole("heading", { name: "Accounts Receivable" })).toBeVisible();
  const expired = page.locator('[data-testid="pay-card-option"][data-last4="4242"]');
  await expect(expired).toContainText("Expired");
  await expect(expired.locator("input")).toBeDisabled();
  // Nothing chargeable on file: a new card is preselected, with the hosted fields open.
  await expect(page.getByTestId("pay-new-card").locator("input")).toBeChecked();
  await expect(page.locator('.hosted-fields[data-ready="true"]')).toBeVisible();
  await expect(page.getByLabel("Save for future payments")).toBeVisible();
  await screenshot(page, "accounts-receivable");
});

test("a customer in Canadian dollars cannot be charged by card", async ({ page }) => {
  await signIn(page, staff.admin);
  await page.getByRole("link", { name: "Receive Payments" }).click();
  await page.getByLabel("Customer").fill("Maple Leaf");
  await page.getByRole("option", { name: /Maple Leaf Blooms Ltd\./ }).click(); // C0042
  await expect(page.getByTestId("payment-not-allowed")).toBeVisible();
  await expect(page.getByRole("button", { name: "Apply Payment" })).toBeDisabled();
  await expect(page.locator('[data-testid="pay-card-option"] input:checked')).toHaveCount(0);
  await screenshot(page, "receive-payments-not-allowed");
});
