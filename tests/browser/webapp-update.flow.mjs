// A new version of the web app is deployed while a monitor has a draft open offline: when the
// tablet is back in signal the app offers the update, restarts into it on request, and the
// draft is intact. The deployment is a changed service worker in the served directory
// ($ACCREDIT_WEB_APP_DIR, the test's own copy of the bundle), which is how browsers see one.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { BASE, newProfile, openTablet, shot, signIn } from './webapp-lib.mjs';

const DIR = process.env.ACCREDIT_WEB_APP_DIR;
if (!DIR) throw new Error('ACCREDIT_WEB_APP_DIR must name the served copy of the bundle');

const { context, page: first } = await openTablet(newProfile());
let page = first;
await signIn(page, 'monitor1');
await context.setOffline(true);
await page.reload();
await page.locator('#caseload').waitFor({ timeout: 30000 });
await page.locator('[id^="location-"]').first().tap();
await page.locator('#start-visit').tap();
await page.locator('#editor').waitFor();
const score = page.locator('.scores').first().locator('button').nth(2);
const scoreId = await score.getAttribute('id');
await score.tap();
await page.waitForFunction((id) => document.getElementById(id).getAttribute('aria-pressed') === 'true', scoreId);

// Deployed meanwhile: a new version of the service worker (and so of the app's cache).
const swPath = join(DIR, 'sw.js');
const original = readFileSync(swPath, 'utf8');
const oldVersion = original.match(/const VERSION = '([^']+)'/)[1];
function deploy(version) {
  writeFileSync(swPath, original.replace(`const VERSION = '${oldVersion}'`, `const VERSION = '${version}'`));
  // The build writes compressed copies too; this deployment changed only the plain file.
  rmSync(`${swPath}.gz`, { force: true });
  rmSync(`${swPath}.br`, { force: true });
}
const newVersion = `${oldVersion}-next`;
deploy(newVersion);

// Back in signal; the app's periodic check (or the next start) finds it.
await context.setOffline(false);
await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
await page.locator('#update-banner').waitFor({ state: 'visible', timeout: 30000 });
assert.match(await page.locator('#update-banner').innerText(), /new version of Accredit is ready/);
await shot(page, 'update-offered');
// The draft is still editable while the update waits.
assert.equal(await page.locator(`#${scoreId}`).getAttribute('aria-pressed'), 'true');

await Promise.all([page.waitForEvent('load'), page.locator('#update-now').tap()]);
await page.locator('#caseload').waitFor({ timeout: 30000 });
const caches = await page.evaluate(async () => caches.keys());
assert.deepEqual(caches, [`accredit-app-${newVersion}`], 'the new version serves the app, the old cache is gone');
await page.locator('[id^="location-"]').first().tap();
const cont = page.locator('[id^="continue-"]').first();
await cont.waitFor();
assert.match(await cont.innerText(), /\(1 of \d+ answered\)/);
await cont.tap();
await page.locator('#editor').waitFor();
assert.equal(await page.locator(`#${scoreId}`).getAttribute('aria-pressed'), 'true', 'the draft survived the update');

// Another deployment; this time the monitor does not restart: closing the app and opening it
// again is the next start, and it runs the new version with the draft intact.
const thirdVersion = `${oldVersion}-third`;
deploy(thirdVersion);
await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
await page.locator('#update-banner').waitFor({ state: 'visible', timeout: 30000 });
await page.close();
page = await context.newPage();
await page.goto(`${BASE}/app/`);
await page.locator('#caseload').waitFor({ timeout: 30000 });
assert.deepEqual(await page.evaluate(async () => caches.keys()), [`accredit-app-${thirdVersion}`],
  'the next start runs the version deployed meanwhile');
await page.locator('[id^="location-"]').first().tap();
await page.locator('[id^="continue-"]').first().tap();
await page.locator('#editor').waitFor();
assert.equal(await page.locator(`#${scoreId}`).getAttribute('aria-pressed'), 'true', 'the draft survived the second update');
await context.close();
console.log('update flow passed');
