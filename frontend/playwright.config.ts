// Browser tests: Debian's Chromium (never a downloaded browser) against a real
// `cardfile serve` started by e2e/global-setup.ts. Run with `make test-browser`.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  globalSetup: "./e2e/global-setup.ts",
  // One shared server and demo database: one test at a time, each on its own customers.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  timeout: 60_000,
  globalTimeout: 10 * 60_000,
  expect: { timeout: 10_000 },
  reporter: "list",
  // Traces and failure screenshots; the screens a reviewer looks at go to $SCREENSHOTS.
  outputDir: "../test-results/playwright",
  use: {
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 860 },
    locale: "en-US",
    timezoneId: "America/Chicago",
    actionTimeout: 15_000,
    navigationTimeout: 20_000,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
