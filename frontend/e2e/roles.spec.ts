import { customerRow, expect, screenshot, signIn, staff, test } from "./fixtures";

test("a SALESPERSON sees customers but no card management", async ({ page }) => {
  await signIn(page, staff.salesperson);
  await expect(page.getByTestId("viewer-role")).toHaveText("Salesperson");
  // The navigation: Customers, and the development outbox only.
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link")).toHaveText(["Customers", "Outbox"]);
  await expect(page.getByRole("columnheader", { name: "Cards" })).toHaveCount(0);
  await screenshot(page, "salesperson-customers");

  await page.getByLabel("Name, code or email").fill("C0001"); // has two cards on file
  await customerRow(page, "C0001").getByRole("link", { name: /^Edit/ }).click();
  await expect(page.getByTestId("customer-details")).toBeVisible();
  await page.getByRole("tab", { name: "Manage Credit Cards" }).click();
  await expect(page.getByTestId("no-card-management")).toBeVisible();
  await expect(page.getByTestId("cards-table")).toHaveCount(0);
  await expect(page.getByTestId("card-row")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Add New" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Request Cards" })).toHaveCount(0);
  await screenshot(page, "salesperson-manage-cards");

  // Typed addresses lead nowhere either.
  for (const path of ["/payments/receive", "/payments/order-entry", "/payments/accounts-receivable", "/expiring"]) {
    await page.goto(path);
    await expect(page.getByTestId("no-card-management"), path).toBeVisible();
    await expect(page.getByRole("button", { name: "Apply Payment" })).toHaveCount(0);
  }
  await page.goto("/overview");
  await expect(page.getByTestId("overview-forbidden")).toBeVisible();
});
