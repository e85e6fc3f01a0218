// Contracts and withhold/release in a real browser: a commissioner adds a contract (a bad amount
// gets the error summary linked to its field), sees each period's outcome with its explanation,
// and finds its release on the payments page and in the payments CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot, pence, parseCsv, downloadText,
} from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a commissioner adds a contract and sees its release on the payments page', async () => {
  const page = await newPage(browser, { width: 1024, height: 1366 });
  await signIn(page, 'commissioner');
  await page.getByRole('link', { name: 'Contracts', exact: true }).click();
  await checkA11y(page, 'contracts');
  assert.ok(await page.locator('#contracts tbody tr').count() >= 1, 'the demo has contracts');
  await page.getByRole('link', { name: 'Add a contract' }).click();
  await checkLabels(page, 'the contract form');

  // A year ending this month: its one period is settled on this month's payments page.
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
  const fillDate = async (id, d) => {
    await page.locator(`#${id}-day`).fill(String(d.getUTCDate()));
    await page.locator(`#${id}-month`).fill(String(d.getUTCMonth() + 1));
    await page.locator(`#${id}-year`).fill(String(d.getUTCFullYear()));
  };
  await page.getByLabel('Contract reference').fill('BT-SEAVIEW-01');
  await page.getByLabel('Provider', { exact: true }).selectOption({ label: 'Coastal Care Ltd' });
  await page.getByLabel(/CQC location ID/).fill('1-101000001');
  await fillDate('starts_on', start);
  await page.getByLabel('Length of each period').selectOption({ label: 'Yearly' });
  await fillDate('ends_on', end);
  await page.getByLabel(/Contract value for each period/).fill('£48,000.005');
  await page.getByLabel(/Share at risk/).fill('2.5');
  await page.getByRole('button', { name: 'Add contract' }).click();

  // The amount has a fraction of a penny: refused, with the error summary linked to the field.
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await page.title(), /^Error: /);
  const link = summary.getByRole('link', { name: /amount in pounds and pence/ });
  assert.equal(await link.getAttribute('href'), '#value_per_period');
  assert.match(await page.locator('#value_per_period-error').innerText(), /pounds and pence/);
  await checkA11y(page, 'the contract form with an error');
  await screenshot(page, 'portal-contract-error', 'body');
  // What was typed is kept.
  assert.equal(await page.getByLabel('Contract reference').inputValue(), 'BT-SEAVIEW-01');

  await page.getByLabel(/Contract value for each period/).fill('£48,000.00');
  await page.getByRole('button', { name: 'Add contract' }).click();
  await page.locator('#notification').waitFor();
  assert.match(await page.locator('#contract-summary').innerText(), /Seaview House/);
  assert.match(await page.locator('#contract-summary').innerText(), /£48,000\.00/);
  assert.match(await page.locator('#contract-summary').innerText(), /2\.5%/);
  await checkA11y(page, 'a contract');
  await screenshot(page, 'portal-contract', 'body');

  // The same reference twice is refused at its field.
  await page.goto(`${BASE}/contracts/new`);
  await page.getByLabel('Contract reference').fill('BT-SEAVIEW-01');
  await page.getByLabel('Provider', { exact: true }).selectOption({ label: 'Coastal Care Ltd' });
  await fillDate('starts_on', start);
  await page.getByLabel('Length of each period').selectOption({ label: 'Yearly' });
  await fillDate('ends_on', end);
  await page.getByLabel(/Contract value for each period/).fill('100');
  await page.getByRole('button', { name: 'Add contract' }).click();
  assert.equal(
    await page.locator('.error-summary').getByRole('link', { name: 'Another contract has this reference' }).getAttribute('href'),
    '#reference',
  );

  // On this month's payments page: 2.5% of £48,000.00 = £1,200.00 at risk; Seaview's last
  // visit scores over 90%, so all of it is released, and the row says why.
  await page.goto(`${BASE}/payments`);
  const row = page.locator('#release-lines tbody tr', { hasText: 'BT-SEAVIEW-01' });
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(pence(cells[3]), 120000, cells.join(' | '));
  assert.equal(pence(cells[4]), 120000, cells.join(' | '));
  assert.equal(pence(cells[6]), 0, cells.join(' | '));
  assert.match(cells[7], /Released/);
  const why = await row.locator('xpath=following-sibling::tr[1]').innerText();
  assert.match(why, /Seaview House's visit of .* scored 9\d/);
  assert.match(why, /band from 90%/);
  assert.match(await page.locator('#releases-explained').innerText(), /differ by a penny/);
  await checkA11y(page, 'payments with contract periods');
  await screenshot(page, 'portal-payments-releases', '#releases-heading');

  // The CSV's release rows add up to the page's released total.
  const released = pence(await page.locator('#releases-released').innerText());
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
  const rows = parseCsv((await downloadText(download)).trim());
  const header = rows[0];
  const releases = rows.slice(1).filter((r) => r[0] === 'release');
  assert.equal(releases.length, await page.locator('#release-lines tbody tr.with-explanation').count());
  const col = (name) => header.indexOf(name);
  assert.equal(releases.reduce((s, r) => s + Number(r[col('amount_pence')]), 0), released);
  const ours = releases.find((r) => r[col('contract_reference')] === 'BT-SEAVIEW-01');
  assert.deepEqual(
    [ours[col('at_risk_pence')], ours[col('amount_pence')], ours[col('withheld_pence')], ours[col('withhold_percent')]],
    ['120000', '120000', '0', '2.500'],
  );
});

test('a provider sees only its own contracts', async () => {
  const page = await newPage(browser);
  await signIn(page, 'fylde');
  await page.goto(`${BASE}/contracts`);
  const refs = await page.locator('#contracts tbody tr td:first-child').allInnerTexts();
  assert.ok(refs.length > 0);
  assert.ok(!refs.includes('BT-SEAVIEW-01'), refs.join(', '));
  assert.equal(await page.getByRole('link', { name: 'Add a contract' }).count(), 0);
  const other = await page.request.get(`${BASE}/contracts/new`);
  assert.equal(other.status(), 403);
});
