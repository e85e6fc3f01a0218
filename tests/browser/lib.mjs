// Shared helpers for the portal's browser tests: Debian's Chromium driven by playwright-core,
// accessibility checked with axe-core inside each page.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const BASE = process.env.ACCREDIT_URL;
if (!BASE) throw new Error('ACCREDIT_URL must name a running Accredit server');
export const SHOTS = process.env.ACCREDIT_SCREENSHOTS || 'screenshots';
export const PASSWORD = 'accredit-demo';

/** Starts Chromium the way this project's CI machines can run it. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A fresh browser context (its own cookies); axe is injected past the page's CSP. */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, bypassCSP: true, javaScriptEnabled: true });
  return context.newPage();
}

/** Signs in through the form, as a person would. */
export async function signIn(page, username) {
  await page.goto(`${BASE}/sign-in`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'));
}

/** Runs axe-core in the page; fails on any serious or critical violation. */
export async function checkA11y(page, what) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    return axe.run(document, { resultTypes: ['violations'] });
  });
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`),
    [],
    `accessibility problems on ${what}`,
  );
}

/** Every input, select and textarea a person fills in has a label. */
export async function checkLabels(page, what) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && el.type !== 'submit')
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map((el) => el.id || el.name));
  assert.deepEqual(unlabelled, [], `fields without a label on ${what}`);
}

/** A screenshot for docs/screenshots: the whole page, or with `at` (a selector) the screen
 * scrolled to that element. */
export async function screenshot(page, name, at) {
  mkdirSync(SHOTS, { recursive: true });
  if (at) {
    await page.locator(at).first().scrollIntoViewIfNeeded();
    await page.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'start' }), at);
    await page.screenshot({ path: `${SHOTS}/${name}.png` });
  } else {
    await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  }
}

/** The link to a location (by its name) on the locations list, as an id. */
export async function locationId(page, name) {
  await page.goto(`${BASE}/locations`);
  const href = await page.getByRole('link', { name, exact: true }).getAttribute('href');
  return href.split('/').pop();
}

/** Pence from "£1,234.56" or "-£5.00". */
export function pence(text) {
  const m = text.replace(/,/g, '').match(/(-?)£(\d+)\.(\d\d)/);
  assert.ok(m, `no money in ${JSON.stringify(text)}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
}

/** Parses CSV with quoted fields. */
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** Reads a download's text. */
export async function downloadText(download) {
  const chunks = await (await download.createReadStream()).toArray();
  return Buffer.concat(chunks).toString('utf8');
}
