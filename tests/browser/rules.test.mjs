// A commissioner drafts a new rule set in the form, without TOML: money in pounds, thresholds in
// per cent, version and start date as fields. An invalid amount gives the error summary linked
// to its field; "Adopt" is offered only once adopting would succeed (a new version, a start date
// after today); the what-if shows on the same page; the draft is saved, rows are added and
// removed without JavaScript, and it is adopted from a future date. The compare view lists every
// setting that differs, and the adopted rule set downloads as TOML. A lead runs the what-if from
// the form but neither saves nor adopts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function pence(text) {
  const m = text.replace(/,/g, '').match(/(-?)£(\d+)\.(\d\d)/);
  assert.ok(m, `an amount in ${JSON.stringify(text)}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
}

function longDate(d) {
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

// Far enough ahead not to meet the rule set the commissioner scenario schedules (60 days).
const start = new Date(Date.now() + 150 * 86400000);

test('a commissioner drafts a rule set in the form, sees the what-if and adopts it from a future date', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  await page.goto(`${BASE}/rules`);
  await checkA11y(page, 'rules');
  await page.getByRole('button', { name: 'Draft a new rule set from the one in force' }).click();
  await page.waitForURL((u) => u.pathname === '/rules/new');
  await checkA11y(page, 'rule set form');
  await checkLabels(page, 'rule set form');
  assert.equal(await page.getByLabel('Weekly premium (£)').nth(2).inputValue(), '15.00', 'Bronze in pounds');
  assert.equal(await page.getByLabel('Inconclusive threshold (%)').inputValue(), '10');

  // A copy of the rule set in force cannot be adopted, and the page says why: no button.
  const reasons = await page.locator('#adopt-reasons').innerText();
  assert.match(reasons, /version 2026\.1 is already used/i);
  assert.match(reasons, /start date must be after today/i);
  assert.equal(await page.locator('#adopt-button').count(), 0);

  // An amount typed wrongly: the error summary links to the field.
  const bronze = page.locator('#tiers-2-weekly');
  await bronze.fill('£16.0O');
  await page.getByRole('button', { name: 'Show the effect' }).click();
  const summary = page.locator('.error-summary');
  assert.match(await summary.innerText(), /Tier 3 weekly premium \(£\) must be an amount in pounds, like 16\.00 or £16/);
  assert.match(await page.title(), /^Error: /);
  assert.equal(await page.locator('#what-if-totals').count(), 0, 'no what-if for a form with problems');
  await checkA11y(page, 'rule set form with an error');
  await screenshot(page, 'portal-rule-form-error', '.error-summary');
  await summary.getByRole('link').first().click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tiers-2-weekly');
  assert.equal(await bronze.inputValue(), '£16.0O', 'what was typed stays');

  // Bronze at £16 a week, as version 2027.1 from a day after today.
  await bronze.fill('£16');
  await page.getByLabel('Version').fill('2027.1');
  await page.locator('#effective_from-day').fill(String(start.getUTCDate()));
  await page.locator('#effective_from-month').fill(String(start.getUTCMonth() + 1));
  await page.locator('#effective_from-year').fill(String(start.getUTCFullYear()));
  await page.getByRole('button', { name: 'Show the effect' }).click();
  await page.locator('#what-if-totals').waitFor();
  assert.equal(await page.locator('.error-summary').count(), 0);
  const movers = await page.locator('#what-if-movers tbody tr').evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.innerText)));
  assert.ok(movers.length > 0, 'some Bronze location has placements');
  for (const [name, now, draftTier, placements, change] of movers) {
    assert.equal(now, 'Bronze', `${name} moves only because Bronze pays more`);
    assert.equal(draftTier, 'Bronze');
    assert.equal(pence(change), 100 * Number(placements), name);
  }
  assert.equal(await page.locator('#tiers-2-weekly').inputValue(), '£16', 'the form keeps what was typed');

  // Save it as a draft.
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/rules/drafts/'));
  assert.match(await page.locator('#notification').innerText(), /Draft saved/);
  assert.equal(await page.locator('#tiers-2-weekly').inputValue(), '16.00');

  // Rows come and go with buttons that post the form (no JavaScript needed).
  await page.getByRole('button', { name: 'Add a tier' }).click();
  assert.equal(await page.locator('#tiers-3-name').count(), 1);
  await page.getByRole('button', { name: 'Remove tier 4' }).click();
  assert.equal(await page.locator('#tiers-3-name').count(), 0);
  assert.equal(await page.locator('#tiers-2-weekly').inputValue(), '16.00');
  await page.setViewportSize({ width: 768, height: 1024 });
  await screenshot(page, 'portal-rule-form-tablet', '#tiers');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Now adopting would succeed, so it is offered, from the start date.
  const adopt = page.locator('#adopt-button');
  assert.equal(await adopt.innerText(), `Adopt from ${longDate(start)}`);
  await screenshot(page, 'portal-rule-form-adopt', '#adopt');
  await adopt.click();
  await page.waitForURL((u) => u.pathname === '/rules');
  assert.match(await page.locator('#notification').innerText(), /Rule set 2027\.1 adopted/);
  const row = page.locator('#rule-sets tbody tr', { hasText: '2027.1' });
  assert.match(await row.innerText(), /Scheduled/);
  assert.match(await row.innerText(), /Bronze: 65\.0% \/ 50\.0% \/ £16\.00/);
  assert.equal(await page.locator('#drafts tbody tr', { hasText: '2027.1' }).count(), 0, 'the adopted draft is no longer a draft');
  // The tier in force today is unchanged: adopting from a future date changes no current tier.
  assert.match(await page.locator('#rule-sets tbody tr', { hasText: 'In force' }).innerText(), /2026\.1/);

  // Side by side: every setting that differs.
  await row.getByRole('link', { name: /Compare with 2026\.1/ }).click();
  await page.waitForURL((u) => u.pathname === '/rules/compare');
  const diffs = await page.locator('#differences tbody tr').evaluateAll((rows) =>
    rows.map((r) => [r.querySelector('th').innerText.split('\n')[0], ...[...r.querySelectorAll('td')].map((td) => td.innerText)]));
  assert.deepEqual(diffs, [
    ['Version', '2026.1', '2027.1'],
    ['Start date', '1 April 2026', longDate(start)],
    ['Tier 3 weekly premium (£)', '£15.00', '£16.00'],
  ]);
  await checkA11y(page, 'compare rule sets');
  await checkLabels(page, 'compare rule sets');
  await screenshot(page, 'portal-rule-compare');

  // TOML stays the stored and exported format.
  await page.goto(`${BASE}/rules/sets/2027.1`);
  await checkA11y(page, 'a rule set');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#download-toml').click(),
  ]);
  const toml = readFileSync(await download.path(), 'utf8');
  assert.match(toml, /version = "2027\.1"/);
  assert.match(toml, /name = "Bronze"\nmin_overall_percent = 65\nmin_domain_percent = 50\nweekly_premium_pence = 1600/);
});

test('adopting again under a used version is not offered, and a lead only runs the what-if', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  await page.goto(`${BASE}/rules/new?from=2027.1`);
  assert.match(await page.locator('#adopt-reasons').innerText(), /version 2027\.1 is already used/i);
  // A new version on the same day: two rule sets cannot start on one day.
  await page.getByLabel('Version').fill('2027.2');
  await page.getByRole('button', { name: 'Show the effect' }).click();
  await page.locator('#what-if-totals').waitFor();
  assert.equal(await page.locator('#adopt-reasons').innerText(), `Rule set 2027.1 already starts on ${longDate(start)}: choose another start date`);
  assert.equal(await page.locator('#adopt-button').count(), 0);

  // Saved as a draft, it can be compared with the rule set in force, then deleted.
  await page.locator('#tiers-0-weekly').fill('26.50');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/rules/drafts/'));
  await page.goto(`${BASE}/rules`);
  const draft = page.locator('#drafts tbody tr', { hasText: '2027.2' });
  await draft.getByRole('link', { name: /Compare with 2026\.1/ }).click();
  const rows = await page.locator('#differences tbody tr th').allInnerTexts();
  assert.deepEqual(rows.map((t) => t.split('\n')[0]), ['Version', 'Start date', 'Tier 1 weekly premium (£)', 'Tier 3 weekly premium (£)']);
  assert.match(await page.locator('#compare-heading').innerText(), /Version 2026\.1 and Draft 2027\.2/);
  await page.goto(`${BASE}/rules`);
  await page.locator('#drafts tbody tr', { hasText: '2027.2' }).getByRole('button', { name: /Delete/ }).click();
  await page.waitForURL((u) => u.pathname === '/rules');
  assert.match(await page.locator('#notification').innerText(), /Draft deleted/);
  assert.equal(await page.locator('#drafts tbody tr', { hasText: '2027.2' }).count(), 0);
  await page.goto(`${BASE}/audit`);
  const audit = await page.locator('main').innerText();
  for (const words of ['Saved a draft rule set', 'Deleted a draft rule set', 'Adopted a rule set']) {
    assert.ok(audit.includes(words), words);
  }

  const lead = await newPage(browser);
  await signIn(lead, 'lead');
  await lead.goto(`${BASE}/rules/new`);
  await checkA11y(lead, 'rule set form (lead)');
  assert.equal(await lead.getByRole('button', { name: 'Save draft' }).count(), 0);
  // Enter in a field shows the effect (not the first "Remove" button on the page).
  await lead.getByLabel('Overall score needed (%)').first().fill('90');
  await lead.getByLabel('Overall score needed (%)').first().press('Enter');
  await lead.locator('#what-if-totals').waitFor();
  assert.equal(await lead.locator('#tiers-0-name').inputValue(), 'Gold', 'no tier was removed');
  assert.equal(await lead.locator('#adopt-button').count(), 0);
});
