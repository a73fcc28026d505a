import { customerRow, expect, screenshot, signIn, staff, test } from "./fixtures";

test("finds customers by name, code or email and by the filters", async ({ page }) => {
  await signIn(page, staff.admin);
  const rows = page.getByTestId("customer-row");
  const count = page.locator("#customers-count");
  await expect(rows).toHaveCount(25); // the first page of the active customers
  await expect(count).toHaveText("190 customers");
  await screenshot(page, "customers");

  // Name (debounced: the URL follows once typing pauses).
  await page.getByLabel("Name, code or email").fill("maple leaf");
  await expect(page).toHaveURL(/[?&]q=maple\+leaf/);
  await expect(rows).toHaveCount(1);
  await expect(customerRow(page, "C0042")).toContainText("Maple Leaf Blooms Ltd.");

  // Email.
  await page.getByLabel("Name, code or email").fill("billing@prairiegreenhouse");
  await expect(rows).toHaveCount(1);
  await expect(customerRow(page, "C0010")).toBeVisible();
  await page.getByLabel("Name, code or email").fill("");
  await expect(count).toHaveText("190 customers");

  // Currency: the one Canadian-dollar customer.
  await page.getByLabel("Currency").selectOption("CAD");
  await expect(rows).toHaveCount(1);
  await expect(customerRow(page, "C0042")).toContainText("CAD");
  await page.getByLabel("Currency").selectOption("");

  // Status: only the inactive ones, each marked so.
  await page.getByLabel("Status").selectOption("inactive");
  await expect(count).toHaveText("10 customers");
  await expect(rows).toHaveCount(10);
  await expect(rows.getByText("Inactive", { exact: true })).toHaveCount(10);

  // Cards on file, combined with a search, across every status.
  await page.getByLabel("Status").selectOption("all");
  await page.getByLabel("Cards on file").selectOption("without");
  await page.getByLabel("Name, code or email").fill("Desert Bloom Nursery");
  await expect(rows).toHaveCount(1);
  await expect(customerRow(page, "C0019").getByText("None")).toBeVisible();
  await page.getByLabel("Cards on file").selectOption("with");
  await expect(page.getByText("No customers match these filters.")).toBeVisible();
  await screenshot(page, "customers-no-match");
});

test("Edit opens the customer, and the Manage Credit Cards tab lists the cards live", async ({ page }) => {
  await signIn(page, staff.admin);
  await page.getByLabel("Name, code or email").fill("C0034");
  const row = customerRow(page, "C0034");
  await expect(page.getByTestId("customer-row")).toHaveCount(1);
  await expect(row).toContainText("3 cards");
  const id = await row.getAttribute("data-customer-id");

  await row.getByRole("link", { name: /^Edit/ }).click();
  await expect(page).toHaveURL(new RegExp(`/customers/${id}$`));
  await expect(page.getByTestId("customer-name")).toContainText("Sunflower Events Company");
  await expect(page.getByTestId("customer-details")).toContainText("accounts@sunflowerevents.example");
  await screenshot(page, "customer-details");

  await page.getByRole("tab", { name: "Manage Credit Cards" }).click();
  await expect(page).toHaveURL(new RegExp(`/customers/${id}/cards$`));
  await expect(page.getByRole("tab", { name: "Manage Credit Cards" })).toHaveAttribute("aria-selected", "true");
  const cards = page.getByTestId("card-row");
  await expect(cards).toHaveCount(3);
  await expect(page.locator('[data-testid="card-row"][data-primary="true"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="card-row"][data-primary="true"]').getByTestId("card-number")).toHaveText("•••• 4242");
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await screenshot(page, "manage-cards");
});

test("a customer who cannot pay by card: the tab says why and Request Cards is off", async ({ page }) => {
  await signIn(page, staff.admin);
  await page.getByLabel("Currency").selectOption("CAD");
  const row = customerRow(page, "C0042");
  await row.getByRole("link", { name: /^Edit/ }).click();
  await page.getByRole("tab", { name: "Manage Credit Cards" }).click();
  await expect(page.getByTestId("card-payments-unavailable")).toBeVisible();
  await expect(page.getByTestId("card-payments-unavailable")).toContainText("Card payments are not possible for this customer");
  await expect(page.getByRole("button", { name: "Request Cards" })).toBeDisabled();
  await expect(page.getByTestId("card-row")).toHaveCount(1);
  await screenshot(page, "manage-cards-cad-customer");
});
