// Every figure on the locations and payments pages is explained and adds up, and the review pages
// read at a tablet's width. Runs after the other files (name order), on the data they left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot, locationId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const TABLET = { width: 768, height: 1024 };

/** Pence from "£1,234.56". */
function pence(text) {
  const m = text.replace(/,/g, '').match(/(-?)£(\d+)\.(\d\d)/);
  assert.ok(m, `no money in ${JSON.stringify(text)}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
}

test('the locations list explains its weekly figure, and it adds up', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  await page.goto(`${BASE}/locations`);
  const words = await page.locator('#weekly-cost').innerText();
  const m = words.match(/Today (\d+) placements? at all locations are eligible: .* At each location's premium that is (£[\d,]+\.\d\d) a week in all\./);
  assert.ok(m, words);
  assert.doesNotMatch(await page.locator('main').innerText(), /together/);
  const rows = await page.locator('#locations tbody tr').evaluateAll((trs) => trs.map((tr) => {
    const td = [...tr.querySelectorAll('td')].map((c) => c.innerText);
    return { premium: td[2], eligible: Number(td[3]), held: /On hold|Suspended|Forfeited/.test(td[2]) };
  }));
  assert.equal(rows.reduce((n, r) => n + r.eligible, 0), Number(m[1]), 'eligible placements add up');
  const paid = rows.filter((r) => !r.held).reduce((s, r) => s + pence(r.premium) * r.eligible, 0);
  assert.equal(paid, pence(m[2]), 'premium × eligible placements, premiums on hold left out');
  await checkA11y(page, 'locations');
});

test('a provider sees only its own figures', async () => {
  const page = await newPage(browser);
  await signIn(page, 'coastal');
  await page.goto(`${BASE}/locations`);
  assert.match(await page.locator('#weekly-cost').innerText(), /at your locations are eligible/);
  await page.goto(`${BASE}/payments`);
  const places = new Set(await page.locator('#payment-lines tbody tr:not(.total) td:first-child').allInnerTexts());
  assert.deepEqual([...places].sort(), ['Promenade Court', 'Seaview House']);
  assert.equal(await page.getByRole('button', { name: /^Issue/ }).count(), 0, 'providers issue nothing');
});

test('the review pages read at a tablet width', async () => {
  const lead = await newPage(browser, TABLET);
  await signIn(lead, 'lead');
  await lead.goto(`${BASE}/review`);
  await checkA11y(lead, 'review at tablet width');
  await screenshot(lead, 'tablet-review');
  const report = lead.locator('#in-window li a').first();
  await report.click();
  await lead.locator('#contents').waitFor();
  await screenshot(lead, 'tablet-report-contents', '#contents');
  const criterion = lead.locator('.criterion').first();
  await criterion.getByRole('link', { name: 'Answer or comment on this' }).click();
  await lead.locator('#comment-form').waitFor();
  await checkA11y(lead, 'report with a comment form at tablet width');
  await checkLabels(lead, 'report with a comment form at tablet width');
  await screenshot(lead, 'tablet-comment-form', '.criterion:first-of-type');

  const commissioner = await newPage(browser, TABLET);
  await signIn(commissioner, 'commissioner');
  const seaview = await locationId(commissioner, 'Seaview House');
  await commissioner.goto(`${BASE}/locations/${seaview}`);
  await screenshot(commissioner, 'tablet-status-chart', 'figure.chart');
  await commissioner.goto(`${BASE}/payments`);
  await checkA11y(commissioner, 'payments at tablet width');
  await screenshot(commissioner, 'tablet-payments', 'body');
  await commissioner.goto(`${BASE}/audit`);
  await checkA11y(commissioner, 'audit at tablet width');
  await screenshot(commissioner, 'tablet-audit', 'body');

  const pub = await newPage(browser, TABLET);
  await pub.goto(`${BASE}/register`);
  await pub.locator('#register a.report-link').first().click();
  await checkA11y(pub, 'report summary at tablet width');
  await screenshot(pub, 'tablet-register-summary');
});
