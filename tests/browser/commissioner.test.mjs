// A lead shares and publishes a visit, seeing the tier change first; a commissioner records a
// CQC rating that caps a tier, runs a what-if on a draft rule set and downloads a payment CSV
// whose totals match the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot, locationId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Pence from "£1,234.56" or "-£5.00". */
function pence(text) {
  const m = text.replace(/,/g, '').match(/(-?)£(\d+)\.(\d\d)/);
  assert.ok(m, `no money in ${JSON.stringify(text)}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
}

/** Parses CSV with quoted fields. */
function parseCsv(text) {
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

function dateParts(daysAgo) {
  const d = new Date(Date.now() - daysAgo * 86400000);
  return { day: String(d.getUTCDate()), month: String(d.getUTCMonth() + 1), year: String(d.getUTCFullYear()) };
}

test('a lead shares a visit, the provider confirms, and the commissioner publishes after seeing the tier change', async () => {
  const lead = await newPage(browser);
  await signIn(lead, 'lead');
  await lead.goto(`${BASE}/review`);
  await checkA11y(lead, 'review queue');
  const item = lead.locator('#to-share li', { hasText: 'Bispham Gardens' });
  await screenshot(lead, 'portal-review');
  await item.getByRole('button', { name: 'Share with provider' }).click();
  await lead.locator('#in-window li', { hasText: 'Bispham Gardens' }).waitFor();

  const fylde = await newPage(browser);
  await signIn(fylde, 'fylde');
  await fylde.getByRole('link', { name: 'Bispham Gardens', exact: true }).click();
  await fylde.locator('#visits tbody tr', { hasText: 'comments open until' }).getByRole('link').click();
  await fylde.getByRole('button', { name: 'I have no further comments' }).click();
  await fylde.locator('#notification').waitFor();

  const commissioner = await newPage(browser);
  await signIn(commissioner, 'commissioner');
  await commissioner.goto(`${BASE}/review`);
  await commissioner.locator('#to-publish li', { hasText: 'Bispham Gardens' }).getByRole('link', { name: 'Check and publish' }).click();
  const before = await commissioner.locator('#tier-now').innerText();
  const afterTier = await commissioner.locator('#tier-after').innerText();
  assert.match(await commissioner.locator('#tier-change').innerText(), /The tier (stays|changes from)/);
  await checkA11y(commissioner, 'publish check');
  await screenshot(commissioner, 'portal-publish-check');
  await commissioner.getByRole('button', { name: 'Publish' }).click();
  const notice = await commissioner.locator('#notification').innerText();
  assert.match(notice, /Visit published/);
  assert.equal(await commissioner.locator('#tier').innerText(), afterTier, 'the tier shown before publishing is the tier after');
  if (before !== afterTier) assert.match(notice, new RegExp(`changed from ${before} to ${afterTier}`));

  // The public register shows the published visit.
  const pub = await newPage(browser);
  await pub.goto(`${BASE}/register?q=Bispham`);
  assert.match(await pub.locator('#register tbody tr').first().innerText(), new RegExp(afterTier));
});

test('a CQC rating of Requires improvement caps a Gold home at Silver', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  const seaview = await locationId(page, 'Seaview House');
  await page.goto(`${BASE}/locations/${seaview}`);
  assert.equal(await page.locator('#tier').innerText(), 'Gold');
  await page.locator('#records-link').click();
  await checkA11y(page, 'records');
  await checkLabels(page, 'records');

  // Nothing filled in: the error summary lists what to fix and links to it.
  await page.getByRole('button', { name: 'Record rating' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /Enter the date of the inspection/);
  assert.match(await summary.innerText(), /Choose the overall rating/);
  assert.equal(await summary.getByRole('link', { name: 'Choose the overall rating' }).getAttribute('href'), '#overall');
  await checkA11y(page, 'records with errors');
  await screenshot(page, 'portal-records-error', 'body');

  const inspected = dateParts(40);
  const published = dateParts(10);
  for (const [id, d] of [['inspected', inspected], ['published', published]]) {
    await page.locator(`#${id}-day`).fill(d.day);
    await page.locator(`#${id}-month`).fill(d.month);
    await page.locator(`#${id}-year`).fill(d.year);
  }
  await page.getByLabel('Overall rating').selectOption({ label: 'Requires improvement' });
  await page.getByRole('button', { name: 'Record rating' }).click();
  const notice = await page.locator('#notification').innerText();
  assert.match(notice, /CQC rating recorded\. The tier changed from Gold to Silver\./);
  assert.equal(await page.locator('#tier').innerText(), 'Silver');
  assert.match(await page.locator('#limiters').innerText(), /CQC Overall rated Requires improvement/);
  await screenshot(page, 'portal-cqc-capped', 'body');
});

test('a verified ISO 9001 certificate adds its amount to the premium', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  const court = await locationId(page, 'Promenade Court');
  await page.goto(`${BASE}/locations/${court}`);
  const before = pence(await page.locator('#premium').innerText());
  const tier = await page.locator('#tier').innerText();
  await page.locator('#records-link').click();
  await page.getByLabel('Qualification').selectOption({ label: 'ISO 9001' });
  await page.getByLabel('Certificate reference').fill('ISO-2026-0042');
  const dates = { 'q-issued': dateParts(60), 'q-expires': dateParts(-1000), 'q-surveillance': dateParts(30), 'q-verified': dateParts(50) };
  for (const [id, d] of Object.entries(dates)) {
    await page.locator(`#${id}-day`).fill(d.day);
    await page.locator(`#${id}-month`).fill(d.month);
    await page.locator(`#${id}-year`).fill(d.year);
  }
  await page.getByLabel('Verified by (optional)').fill('Chris Hall');
  await page.getByLabel('Seaview House').uncheck();
  await page.getByRole('button', { name: 'Record certificate' }).click();
  assert.match(await page.locator('#notification').innerText(), new RegExp(`Certificate recorded\\. The tier stays ${tier}\\.`));
  const after = pence(await page.locator('#premium').innerText());
  assert.equal(after - before, 500, 'ISO 9001 adds £5 a week');
  assert.match(await page.locator('#qualifications').innerText(), /ISO 9001: counted, £5\.00 a week/);
});

test('closing and opening gates moves the premium status', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  const lodge = await locationId(page, 'Stanley Park Lodge');
  await page.goto(`${BASE}/locations/${lodge}`);
  assert.match(await page.locator('#premium-status').innerText(), /On hold/);
  await page.locator('#records-link').click();
  const gate = page.locator('.gate', { hasText: 'Section 42 safeguarding enquiry' });
  const closed = dateParts(1);
  await gate.getByLabel('Day').fill(closed.day);
  await gate.getByLabel('Month').fill(closed.month);
  await gate.getByLabel('Year').fill(closed.year);
  await gate.getByLabel('Outcome').selectOption('not_substantiated');
  await gate.getByRole('button', { name: 'Close this gate' }).click();
  assert.match(await page.locator('#notification').innerText(), /Gate closed\./);
  assert.doesNotMatch(await page.locator('#premium-status').innerText(), /On hold/);

  await page.locator('#records-link').click();
  await page.getByLabel('Kind').selectOption({ label: 'Placement embargo' });
  const opened = dateParts(0);
  await page.locator('#opened-day').fill(opened.day);
  await page.locator('#opened-month').fill(opened.month);
  await page.locator('#opened-year').fill(opened.year);
  await page.getByRole('button', { name: 'Open gate' }).click();
  assert.match(await page.locator('#notification').innerText(), /Gate opened\./);
  assert.equal(await page.locator('#premium-status').innerText(), 'Suspended');
  assert.match(await page.locator('#gates').innerText(), /Placement embargo: opened/);
});

test('a what-if on a draft rule set shows the cost per tier before anyone adopts it', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  await page.goto(`${BASE}/rules`);
  assert.ok(await page.locator('#rule-sets tbody tr', { hasText: 'In force' }).count() === 1);
  await checkA11y(page, 'rules');
  await checkLabels(page, 'rules');

  const draft = page.getByLabel('Draft rule set');
  const source = await draft.inputValue();
  await draft.fill('this is not a rule set');
  await page.getByRole('button', { name: 'Show the effect' }).click();
  assert.match(await page.locator('.error-summary').innerText(), /The draft cannot be read/);

  // Bronze from £15 to £18 a week, as a new version.
  const changed = source
    .replace(/version = "[^"]+"/, 'version = "draft"')
    .replace(/(name = "Bronze"[\s\S]*?weekly_premium_pence = )1500/, '$11800');
  assert.notEqual(changed, source);
  await draft.fill(changed);
  await page.getByRole('button', { name: 'Show the effect' }).click();
  await page.locator('#what-if-totals').waitFor();
  // Each Bronze location costs £3 a week more per eligible placement; nobody else changes.
  const movers = await page.locator('#what-if-movers tbody tr').evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.innerText)));
  assert.ok(movers.length > 0, 'some Bronze location has placements');
  let expected = 0;
  for (const [name, now, draftTier, placements, change] of movers) {
    assert.equal(now, 'Bronze', `${name} moves only because Bronze pays more`);
    assert.equal(draftTier, 'Bronze');
    assert.equal(pence(change), 300 * Number(placements), name);
    expected += 300 * Number(placements);
  }
  const weekly = await page.locator('#what-if-weekly td').allInnerTexts();
  assert.equal(pence(weekly[3]) - pence(weekly[2]), expected, 'the total changes by the Bronze rise');
  const annual = await page.locator('#what-if-annual td').allInnerTexts();
  assert.equal(pence(annual[2]), Math.round(pence(weekly[2]) * 365 / 7));
  await checkA11y(page, 'what-if');
  await screenshot(page, 'portal-what-if', '#what-if-result');
  // Nothing was adopted.
  await page.goto(`${BASE}/rules`);
  assert.equal(await page.locator('#rule-sets tbody tr', { hasText: 'draft' }).count(), 0);

  // Adopting needs a start date after today: never retrospective.
  await page.getByLabel('Draft rule set').fill(changed);
  await page.getByRole('button', { name: 'Show the effect' }).click();
  await page.locator('#adopt button').click();
  assert.match(await page.locator('.error-summary').innerText(), /future date, never retrospectively/);
  const start = new Date(Date.now() + 60 * 86400000).toISOString().slice(0, 10);
  await page.getByLabel('Draft rule set').fill(changed.replace(/effective_from = \S+/, `effective_from = ${start}`));
  await page.getByRole('button', { name: 'Show the effect' }).click();
  await page.locator('#adopt button').click();
  const scheduled = page.locator('#rule-sets tbody tr', { hasText: 'draft' });
  assert.match(await scheduled.innerText(), /Scheduled/);
});

test('the payment CSV adds up to the totals on the page', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  await page.goto(`${BASE}/payments`);
  await checkA11y(page, 'payments');
  await checkLabels(page, 'payments');
  const total = pence(await page.locator('#total').innerText());
  const onHold = pence(await page.locator('#on-hold').innerText());
  assert.ok(total > 0, 'the demo month pays something');
  await screenshot(page, 'portal-payments', 'body');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#csv').click(),
  ]);
  const text = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  const rows = parseCsv(text.trim());
  const header = rows[0];
  const lines = rows.slice(1).filter((r) => r[0] === 'line');
  assert.equal(lines.length, await page.locator('#payment-lines tbody tr:not(.total)').count());
  const sum = (col) => lines.reduce((s, r) => s + Number(r[header.indexOf(col)]), 0);
  assert.equal(sum('amount_pence'), total);
  assert.equal(sum('on_hold_pence'), onHold);

  // A bad month is a clear error, not a crash.
  await page.goto(`${BASE}/payments?period=2026-13`);
  assert.match(await page.locator('.error-summary').innerText(), /Enter a month/);
});

test('the audit log is searchable by location', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  const seaview = await locationId(page, 'Seaview House');
  await page.goto(`${BASE}/audit`);
  await checkA11y(page, 'audit');
  await checkLabels(page, 'audit');
  await page.getByLabel('Location').selectOption(seaview);
  await page.getByRole('button', { name: 'Search' }).click();
  const actions = await page.locator('#audit tbody tr td:nth-child(3)').allInnerTexts();
  assert.ok(actions.includes('cqc_rating.recorded'), actions.join(', '));
  const places = new Set(await page.locator('#audit tbody tr td:nth-child(4)').allInnerTexts());
  assert.deepEqual([...places], ['Seaview House']);
  await page.goto(`${BASE}/audit?from=yesterday`);
  assert.match(await page.locator('.error-summary').innerText(), /real date/);
});

test('providers cannot reach commissioner pages', async () => {
  const page = await newPage(browser);
  await signIn(page, 'coastal');
  for (const path of ['/review', '/rules', '/audit']) {
    const r = await page.goto(`${BASE}${path}`);
    assert.ok([403, 404].includes(r.status()), `${path}: ${r.status()}`);
  }
  const seaview = await locationId(page, 'Seaview House');
  const r = await page.goto(`${BASE}/locations/${seaview}/records`);
  assert.ok([403, 404].includes(r.status()), `records: ${r.status()}`);
});
