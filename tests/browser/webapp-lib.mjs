// Helpers for the web app's browser tests.
import { chromium } from 'playwright-core';
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core in the app's page (the app's CSP allows no injected script, so it is
 * evaluated through the DevTools protocol); fails on any serious or critical violation. */
export async function checkA11yFrame(page, what) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`),
    [],
    `accessibility problems on ${what}`,
  );
}


export const BASE = process.env.ACCREDIT_URL;
export const SHOTS = process.env.ACCREDIT_SCREENSHOTS || 'screenshots';

/** A fresh browser profile: the tablet's storage. */
// Profiles made by this run: each holds a whole browser profile (tens of megabytes), so they go
// when the flow ends, however it ends.
const profiles = [];
process.on('exit', () => {
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
});

export function newProfile() {
  const dir = mkdtempSync(join(tmpdir(), 'accredit-tablet-'));
  profiles.push(dir);
  return dir;
}

/** Debian's Chromium as a tablet (touch, device scale factor 2) on `profile`. */
export async function openTablet(profile, viewport = { width: 1280, height: 800 }) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport, deviceScaleFactor: 2, hasTouch: true, isMobile: false,
  });
  const page = context.pages()[0] || await context.newPage();
  watch(page);
  return { context, page };
}

/** Prints the page's errors, so a failure says what the app said. */
export function watch(page) {
  page.on('pageerror', (e) => console.log('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.log('console error:', m.text()); });
}

/** Kills every process of the browser on `profile` at once, as a flat battery would. */
export function killHard(profile) {
  const mine = execSync('ps -eo pid=,args=').toString().split('\n')
    .filter((line) => line.includes(`--user-data-dir=${profile}`))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
  assert.ok(mine.length > 0, 'the browser processes were found');
  for (const pid of mine) {
    try { process.kill(pid, 'SIGKILL'); } catch (e) { /* already gone */ }
  }
}

/** A screenshot for docs/screenshots, named `web-…`. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/web-${name}.png` });
}

/** Signs in on the app's own screen and waits for the caseload and the service worker. */
export async function signIn(page, username) {
  await page.goto(`${BASE}/app/`);
  await page.locator('#username').waitFor();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill('accredit-demo');
  await page.locator('#sign-in').tap();
  await page.locator('#caseload').waitFor({ timeout: 30000 });
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
}

/** Presses "Sync now" in the sync centre and waits until the server has everything. */
export async function syncNow(page) {
  await page.locator('#nav-sync').tap();
  await page.locator('#sync-now').tap();
  await page.waitForFunction(() => {
    const t = document.body.innerText;
    return /Synced at/.test(t)
      && document.querySelector('#pending-count')?.textContent.startsWith('Everything on this device');
  }, null, { timeout: 60000 }).catch(async (e) => {
    console.log(await page.evaluate(() => document.body.innerText));
    throw e;
  });
}

/** Waits for a file another process writes (the Rust side of a two-device test). */
export async function waitForFile(path, ms = 60000) {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} never appeared`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A lead plans a visit for `monitor` at the last location of their caseload, three days ahead,
 * through the JSON API; returns the location's id. */
export async function planVisitFor(monitor) {
  const session = async (username) => {
    const r = await fetch(`${BASE}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'accredit-demo', device_name: 'planning from the test' }),
    });
    if (r.status !== 201) throw new Error(`signing in ${username}: ${r.status}`);
    return r.json();
  };
  const mon = await session(monitor);
  const lead = await session('lead');
  const locs = await (await fetch(`${BASE}/api/v1/locations`, { headers: { authorization: `Bearer ${mon.token}` } })).json();
  const location = locs.locations[locs.locations.length - 1].id;
  const day = new Date(Date.now() + 3 * 86400000).toISOString().slice(0, 10);
  const r = await fetch(`${BASE}/api/v1/plans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${lead.token}` },
    body: JSON.stringify({ location_id: location, visit_type: 'follow_up', planned_on: day, monitor_ids: [mon.user_id] }),
  });
  if (r.status !== 201) throw new Error(`planning: ${r.status} ${await r.text()}`);
  return location;
}

// Draws with a finger: Chromium's own touch emulation (Input.emulateTouchFromMouseEvent) turns a
// drag into touch events and pointer events of type "touch", with the gesture handling a tablet
// has, at `points` relative to the element's top left corner. (Raw Input.dispatchTouchEvent
// strokes leave Chromium's gesture detector taking the next taps for part of them: no click.)
export async function touchDraw(page, selector, points) {
  await page.locator(selector).scrollIntoViewIfNeeded();
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not on screen`);
  if (points.length === 1) {
    // A single touch is a tap.
    await page.touchscreen.tap(box.x + points[0][0], box.y + points[0][1]);
    await page.waitForTimeout(300);
    return;
  }
  const cdp = await page.context().newCDPSession(page);
  const send = (type, [x, y]) => cdp.send('Input.emulateTouchFromMouseEvent', {
    type, x: Math.round(box.x + x), y: Math.round(box.y + y), button: 'left',
    timestamp: Date.now() / 1000, clickCount: 1,
  });
  await send('mousePressed', points[0]);
  for (const p of points.slice(1)) {
    // At a finger's pace: about one sample a frame.
    await page.waitForTimeout(16);
    await send('mouseMoved', p);
  }
  await send('mouseReleased', points[points.length - 1]);
  // The emulated touches are delivered after the calls return; detaching drops any not yet sent.
  await page.waitForTimeout(500);
  await cdp.detach();
}
