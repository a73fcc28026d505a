import { expect, openManageCards, screenshot, signIn, staff, test } from "./fixtures";

test("signs in, shows who is signed in, and signs out", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByLabel("Email")).toBeFocused();
  await screenshot(page, "sign-in");

  await page.getByLabel("Email").fill(staff.admin.email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signin-error")).toBeVisible();
  await expect(page).toHaveURL(/\/signin$/);
  await screenshot(page, "sign-in-wrong-password");

  await page.getByLabel("Password").fill(staff.admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/customers$/);
  await expect(page.getByTestId("viewer-name")).toHaveText(staff.admin.name);
  await expect(page.getByTestId("viewer-role")).toHaveText(staff.admin.role);
  await expect(page.getByText("Blossom Wholesale Supply")).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByTestId("viewer-name")).toHaveCount(0);
  // Signed out means signed out: a staff screen sends you back to sign in.
  await page.goto("/customers");
  await expect(page).toHaveURL(/\/signin\?next=%2Fcustomers$/);
});

test("an ended session returns to sign in, then back to the same screen", async ({ page }) => {
  await signIn(page, staff.admin);
  const id = await openManageCards(page, "C0011"); // Fairview Petals & Co.
  const cardsPath = `/customers/${id}/cards`;

  // The server forgets the session (as after an idle timeout); the app still holds the token.
  const ended = await page.evaluate(async () => {
    const token = (JSON.parse(localStorage.getItem("cardfile.session") ?? "{}") as { token?: string }).token;
    const res = await fetch("/query", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "mutation { logout }" }),
    });
    return ((await res.json()) as { data?: { logout: boolean } }).data?.logout;
  });
  expect(ended).toBe(true);

  await page.reload();
  await expect(page).toHaveURL(/\/signin\?/);
  const url = new URL(page.url());
  expect(url.searchParams.get("next")).toBe(cardsPath);
  expect(url.searchParams.get("reason")).toBe("expired");
  await expect(page.getByTestId("session-expired")).toBeVisible();
  await screenshot(page, "sign-in-session-expired");

  await page.getByLabel("Email").fill(staff.admin.email);
  await page.getByLabel("Password").fill(staff.admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`${cardsPath}$`));
  await expect(page.getByRole("tab", { name: "Manage Credit Cards" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByTestId("cards-table")).toBeVisible();
});
