import { cardRow, expect, hostedFields, openManageCards, screenshot, signIn, staff, test, testCards, typeCard, waitForHostedFields } from "./fixtures";

test("Add New saves a card typed into the sandbox hosted fields", async ({ page }) => {
  await signIn(page, staff.admin);
  await openManageCards(page, "C0005"); // Green Valley Events: no cards yet
  await expect(page.getByTestId("no-cards")).toBeVisible();

  await page.getByRole("button", { name: "Add New" }).click();
  const dialog = page.getByTestId("add-card-dialog");
  await expect(dialog).toBeVisible();
  await waitForHostedFields(dialog);
  // A customer's first card is always primary.
  await expect(dialog.getByLabel("Make this the primary card")).toBeChecked();
  await expect(dialog.getByLabel("Make this the primary card")).toBeDisabled();
  const fields = hostedFields(dialog);
  await typeCard(fields, testCards.visa4242);
  await expect(fields.getByLabel("Card number")).toHaveValue("4242 4242 4242 4242");
  await expect(fields.getByLabel("Expiry")).toHaveValue("12 / 30");
  await dialog.getByLabel("Description").fill("Office Visa");
  await screenshot(page, "add-card-dialog");

  await dialog.getByRole("button", { name: "Save Card" }).click();
  await expect(dialog).toBeHidden();
  const row = cardRow(page, "4242");
  await expect(row).toBeVisible();
  await expect(row.getByTestId("card-number")).toHaveText("•••• 4242");
  await expect(row.getByTestId("card-description")).toContainText("Office Visa");
  await expect(row.getByTestId("card-expiry")).toContainText("12/2030");
  await expect(row).toHaveAttribute("data-primary", "true");
  await expect(page.getByTestId("notices")).toContainText("Card saved: Visa •••• 4242 (primary).");

  // A second card, not primary.
  await page.getByRole("button", { name: "Add New" }).click();
  await waitForHostedFields(dialog);
  await expect(dialog.getByLabel("Make this the primary card")).not.toBeChecked();
  await typeCard(hostedFields(dialog), testCards.mastercard4444, "11/31");
  await dialog.getByRole("button", { name: "Save Card" }).click();
  await expect(dialog).toBeHidden();
  await expect(cardRow(page, "4444")).toHaveAttribute("data-primary", "false");
  await expect(page.getByTestId("card-row")).toHaveCount(2);

  // The same card again is a duplicate: the dialog says so and offers "Save anyway".
  await page.getByRole("button", { name: "Add New" }).click();
  await waitForHostedFields(dialog);
  await typeCard(hostedFields(dialog), testCards.visa4242);
  await dialog.getByRole("button", { name: "Save Card" }).click();
  await expect(dialog.getByTestId("add-card-error")).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Save anyway" })).toBeVisible();
  await screenshot(page, "add-card-duplicate");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("card-row")).toHaveCount(2);

  // What the table shows is what the server kept.
  await page.reload();
  await expect(cardRow(page, "4242")).toHaveAttribute("data-primary", "true");
  await expect(cardRow(page, "4444")).toBeVisible();
});

test("a description is renamed in place: Enter saves, Esc cancels", async ({ page }) => {
  await signIn(page, staff.admin);
  await openManageCards(page, "C0006"); // Heritage Floral Company: one card, •••• 1111
  const row = cardRow(page, "1111");
  const description = row.getByTestId("card-description");
  const before = (await description.innerText()).replace("✎", "").trim();

  // Esc cancels: nothing saved, focus back on the description.
  await description.click();
  const input = row.getByTestId("card-description-input");
  await expect(input).toBeFocused();
  await input.fill("Should not be kept");
  await input.press("Escape");
  await expect(input).toBeHidden();
  await expect(description).toBeFocused();
  await expect(description).toContainText(before);
  await expect(description).not.toContainText("Should not be kept");

  // Enter saves.
  await description.click();
  await input.fill("Front desk Visa");
  await screenshot(page, "manage-cards-rename");
  await input.press("Enter");
  await expect(input).toBeHidden();
  await expect(description).toContainText("Front desk Visa");
  await expect(page.getByTestId("notices")).toContainText("Description saved.");

  await page.reload();
  await expect(cardRow(page, "1111").getByTestId("card-description")).toContainText("Front desk Visa");
});

test("the Primary radio makes another card the primary one", async ({ page }) => {
  await signIn(page, staff.admin);
  await openManageCards(page, "C0003"); // Summit Market & Co.: •••• 1111 primary, •••• 4242
  await expect(cardRow(page, "1111")).toHaveAttribute("data-primary", "true");
  await expect(cardRow(page, "4242")).toHaveAttribute("data-primary", "false");

  await cardRow(page, "4242").getByRole("radio").check();
  // Saved once the choice settles (350 ms), then the rows follow the server.
  await expect(cardRow(page, "4242")).toHaveAttribute("data-primary", "true");
  await expect(cardRow(page, "1111")).toHaveAttribute("data-primary", "false");
  await expect(cardRow(page, "1111").getByRole("radio")).not.toBeChecked();
  await expect(page.getByTestId("notices")).toContainText("Visa •••• 4242 is now the primary card.");
  await screenshot(page, "manage-cards-primary-changed");

  await page.reload();
  await expect(cardRow(page, "4242")).toHaveAttribute("data-primary", "true");
  await expect(cardRow(page, "4242").getByRole("radio")).toBeChecked();
});

test("Delete asks first, keeps focus in its dialog, and removes the card with Yes, Delete", async ({ page }) => {
  await signIn(page, staff.admin);
  await openManageCards(page, "C0004"); // Stonebridge Fresh Market: •••• 1111 primary, •••• 3222
  const row = cardRow(page, "3222");
  const deleteButton = row.getByRole("button", { name: /^Delete/ });
  const dialog = page.getByTestId("delete-card-dialog");

  // Keyboard: open with Enter, Tab stays inside, Esc closes and focus returns.
  await deleteButton.focus();
  await page.keyboard.press("Enter");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  const focusInDialog = () => page.evaluate(() => !!document.activeElement?.closest('[data-testid="delete-card-dialog"]'));
  const seen = new Set<string>();
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press("Tab");
    expect(await focusInDialog(), `focus stays in the dialog after ${i + 1} Tab presses`).toBe(true);
    seen.add(await page.evaluate(() => document.activeElement?.getAttribute("aria-label") || document.activeElement?.textContent?.trim() || ""));
  }
  expect([...seen].sort()).toEqual(["Cancel", "Close", "Yes, Delete"]);
  await page.keyboard.press("Shift+Tab");
  expect(await focusInDialog()).toBe(true);
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(deleteButton).toBeFocused();
  await expect(row).toBeVisible();

  // Cancel deletes nothing.
  await deleteButton.click();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("card-row")).toHaveCount(2);

  await deleteButton.click();
  await expect(dialog).toContainText("•••• 3222");
  await screenshot(page, "delete-card-dialog");
  await dialog.getByRole("button", { name: "Yes, Delete" }).click();
  await expect(dialog).toBeHidden();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId("card-row")).toHaveCount(1);
  await expect(page.getByTestId("notices")).toContainText("•••• 3222 was deleted.");
  // The row that had focus is gone: focus continues from the heading.
  await expect(page.getByRole("heading", { name: "Credit cards" })).toBeFocused();

  await page.reload();
  await expect(page.getByTestId("card-row")).toHaveCount(1);
  await expect(cardRow(page, "1111")).toHaveAttribute("data-primary", "true");
});
