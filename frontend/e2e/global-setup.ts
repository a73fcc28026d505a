// One shared server for all tests, and a second one whose card-request links
// expire after a few seconds (for the expired-link test). Their URLs reach
// the tests through the environment; the returned function is the teardown.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./server";

/**
 * How long links work on the second server; the expired-link test waits this out.
 * It must exceed the time to reach the form on a loaded machine (the email alone
 * may take up to waitForEmail's 15 s), or that test fails without a defect.
 */
const SHORT_LINK_TTL_SECONDS = 20;

export default async function globalSetup() {
  // The screenshot folder shows this run only.
  const shots = process.env.SCREENSHOTS;
  if (shots) {
    mkdirSync(shots, { recursive: true });
    for (const f of readdirSync(shots)) if (f.endsWith(".png")) rmSync(join(shots, f));
  }
  const [main, shortLinks] = await Promise.all([
    startServer("main"),
    startServer("short-links", { CARDFILE_LINK_TTL: `${SHORT_LINK_TTL_SECONDS}s` }),
  ]);
  process.env.CARDFILE_URL = main.url;
  process.env.CARDFILE_SHORT_LINK_URL = shortLinks.url;
  process.env.CARDFILE_SHORT_LINK_TTL = String(SHORT_LINK_TTL_SECONDS);
  return async () => {
    await Promise.all([main.stop(), shortLinks.stop()]);
  };
}
