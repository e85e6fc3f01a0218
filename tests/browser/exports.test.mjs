// A commissioner opens Exports, downloads each export as CSV and as JSON (by clicking, as a
// person would), and every file's rows (and the register's weekly premium total) match what the
// page says; a date range narrows them, and a date that does not exist is an error. The
// Transparency Code list from the payments page matches its total. Providers cannot export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const EXPORTS = ['visits', 'answers', 'determinations', 'actions', 'locations'];

/** Reads CSV as RFC 4180 writes it (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** A count or an amount as the page writes it ("2,970", "£1,234.50"), as a number of units
 * (pence for money). */
function figure(text) {
  const t = text.trim().replace(/[£,]/g, '');
  return t.includes('.') ? Math.round(Number(t) * 100) : Number(t);
}

/** Clicks a download link and returns the file's text. */
async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.locator(selector).click()]);
  const path = await file.path();
  return { name: file.suggestedFilename(), text: await readFile(path, 'utf8') };
}

/** Every export's files agree with the page's figures; returns each CSV's header. */
async function checkFiles(page, what) {
  const headers = {};
  for (const name of EXPORTS) {
    const rows = figure(await page.locator(`#rows-${name}`).innerText());
    const csv = await download(page, `#csv-${name}`);
    assert.match(csv.name, new RegExp(`^accredit-${name}.*\\.csv$`), `${what}: ${name} file name`);
    const table = parseCsv(csv.text);
    headers[name] = table[0];
    assert.equal(table.length - 1, rows, `${what}: ${name}.csv has the rows the page says`);
    const json = JSON.parse((await download(page, `#json-${name}`)).text);
    assert.equal(json.length, rows, `${what}: ${name}.json has the rows the page says`);
    if (json.length) assert.deepEqual(Object.keys(json[0]), table[0], `${what}: ${name}.json has the CSV's columns`);
    if (name === 'locations') {
      const total = figure(await page.locator('#total-locations').innerText());
      const column = table[0].indexOf('weekly_premium_pence');
      const sum = table.slice(1).reduce((s, r) => s + Number(r[column] || 0), 0);
      assert.equal(sum, total, `${what}: the register's weekly premiums add up to the page's total`);
      assert.equal(json.reduce((s, r) => s + (r.weekly_premium_pence ?? 0), 0), total);
    }
  }
  return headers;
}

test('a commissioner downloads each export and its rows and totals match the page', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  // Exports are in the menu's "Data" hub, with the other data and records pages.
  await page.getByRole('link', { name: 'Data', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/data');
  await checkA11y(page, 'the data hub');
  await screenshot(page, 'portal-data-hub');
  assert.deepEqual(await page.locator('#hub h2').allInnerTexts(),
    ['Appeals', 'Exports', 'Transparency Code list', 'Audit log', 'Imports', 'Records due for removal']);
  assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Data');
  await page.getByRole('link', { name: 'Exports', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/exports');
  assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Data', 'the hub stays current');
  await checkA11y(page, 'exports');
  await checkLabels(page, 'exports');
  await screenshot(page, 'portal-exports');
  assert.equal(await page.locator('#range').innerText(), 'Dates: All dates');
  for (const name of EXPORTS) assert.ok(figure(await page.locator(`#rows-${name}`).innerText()) > 0, `${name} has rows`);
  const headers = await checkFiles(page, 'all dates');

  // The columns are listed under each export, folded; opening them shows the CSV's header.
  for (const name of EXPORTS) {
    await page.locator(`#export-${name} summary`).click();
    const listed = await page.locator(`#columns-${name} tbody tr td:first-child`).allInnerTexts();
    assert.deepEqual(listed, headers[name], `the page lists the columns ${name}.csv has`);
  }
  await screenshot(page, 'portal-exports-columns', '#export-actions');

  // A year's range narrows the rows, and the files follow.
  const all = figure(await page.locator('#rows-visits').innerText());
  const year = new Date().getUTCFullYear();
  await page.locator('#from-day').fill('1');
  await page.locator('#from-month').fill('1');
  await page.locator('#from-year').fill(String(year));
  await page.locator('#to-day').fill('31');
  await page.locator('#to-month').fill('12');
  await page.locator('#to-year').fill(String(year));
  await page.locator('#apply').click();
  await page.waitForURL((u) => u.searchParams.get('from-year') === String(year));
  assert.match(await page.locator('#range').innerText(), new RegExp(`1 January ${year} to 31 December ${year}`));
  const narrowed = figure(await page.locator('#rows-visits').innerText());
  assert.ok(narrowed < all, `fewer visits in ${year} (${narrowed}) than in all (${all})`);
  await checkFiles(page, String(year));
  await page.setViewportSize({ width: 768, height: 1024 });
  await screenshot(page, 'portal-exports-tablet', '#export-visits');

  // A day that does not exist is an error, linked to its field, and no counts are shown.
  await page.locator('#from-day').fill('31');
  await page.locator('#from-month').fill('2');
  await page.locator('#apply').click();
  await page.locator('.error-summary').waitFor();
  assert.match(await page.locator('.error-summary').innerText(), /must be a real date/);
  assert.equal(await page.locator('#rows-visits').count(), 0);
  await checkA11y(page, 'exports, with an error');
  await screenshot(page, 'portal-exports-error');
  await page.setViewportSize({ width: 1280, height: 900 });

  // The Transparency Code list from the payments page: its CSV matches the page.
  await page.goto(`${BASE}/payments`);
  await page.locator('#transparency').click();
  await page.waitForURL((u) => u.pathname === '/payments/transparency');
  await checkA11y(page, 'transparency list');
  await checkLabels(page, 'transparency list');
  await screenshot(page, 'portal-transparency');
  const providers = figure(await page.locator('#providers').innerText());
  const total = figure(await page.locator('#total').innerText());
  const list = parseCsv((await download(page, '#csv')).text);
  assert.equal(list[0][0], 'Name of Body');
  assert.equal(list.length - 1, providers, 'a row per provider over £500');
  const amount = list[0].indexOf('Amount');
  assert.equal(list.slice(1).reduce((s, r) => s + Math.round(Number(r[amount]) * 100), 0), total);
  for (const r of list.slice(1)) assert.ok(Number(r[amount]) > 500, `${r[amount]} is over £500`);
  await page.context().close();
});

test('providers cannot export', async () => {
  const page = await newPage(browser);
  await signIn(page, 'coastal');
  assert.equal(await page.getByRole('link', { name: 'Exports', exact: true }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Data', exact: true }).count(), 0);
  assert.equal((await page.goto(`${BASE}/data`)).status(), 403);
  const r = await page.goto(`${BASE}/exports`);
  assert.equal(r.status(), 403);
  const file = await page.request.get(`${BASE}/exports/locations.csv`);
  assert.equal(file.status(), 403);
  const list = await page.request.get(`${BASE}/payments/transparency.csv?period=2026-11`);
  assert.equal(list.status(), 403);
  await page.context().close();
});
