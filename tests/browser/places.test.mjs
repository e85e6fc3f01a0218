// A commissioner adds a location (a malformed CQC location ID is refused at its field), adds a
// placement (an amount in the wrong form is refused), records a hospital stay and the return,
// then records a change of ownership that moves the running placement to the new location.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function fillDate(page, id, d, m, y) {
  await page.locator(`#${id}-day`).fill(String(d));
  await page.locator(`#${id}-month`).fill(String(m));
  await page.locator(`#${id}-year`).fill(String(y));
}

test('a commissioner adds a location and a placement, then records a change of ownership', async () => {
  const chris = await newPage(browser);
  await signIn(chris, 'commissioner');
  await chris.goto(`${BASE}/locations`);
  await chris.locator('#add-location').click();
  await chris.getByLabel('CQC location ID').fill('1-12');
  await chris.getByLabel("Or a new provider's name").fill('Harbour Care Ltd');
  await chris.getByLabel('Name of the location').fill('Harbour View');
  await chris.getByLabel('Address').fill('1 Quay Street, Fleetwood FY7 6AA');
  await chris.getByLabel('Kind of service').selectOption({ label: 'Care home' });
  await fillDate(chris, 'registered_from', 1, 6, 2015);
  await chris.getByRole('button', { name: 'Add location' }).click();
  const summary = chris.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /1- and then 8 to 12 digits/);
  await checkA11y(chris, 'add a location, with errors');
  await checkLabels(chris, 'add a location');
  await screenshot(chris, 'portal-add-location-errors');
  await chris.getByLabel('CQC location ID').fill('1-555000001');
  await chris.getByRole('button', { name: 'Add location' }).click();
  await chris.locator('#notification').waitFor();
  assert.match(await chris.locator('#notification').innerText(), /Location added/);
  const oldUrl = chris.url().split('?')[0];

  // A placement: a fee with three decimal places is refused; then it is added.
  await chris.locator('#placements-link').click();
  await chris.getByLabel('Resident reference').fill('R-40021');
  await chris.getByLabel('Funding').selectOption({ label: 'Council-funded permanent' });
  await fillDate(chris, 'start', 1, 10, 2026);
  await chris.getByLabel('Weekly fee, in pounds').fill('£850.505');
  await chris.getByRole('button', { name: 'Add placement' }).click();
  await chris.locator('.error-summary').waitFor();
  assert.match(await chris.locator('.error-summary').innerText(), /pounds and pence/);
  await checkA11y(chris, 'placements, with errors');
  await checkLabels(chris, 'placements');
  await chris.getByLabel('Weekly fee, in pounds').fill('£850.50');
  await fillDate(chris, 'start', 1, 10, 2026);
  await chris.getByRole('button', { name: 'Add placement' }).click();
  await chris.locator('#notification').waitFor();
  const row = chris.locator('#placements tbody tr', { hasText: 'R-40021' });
  assert.match(await row.innerText(), /£850\.50/);

  // A hospital stay, then the return.
  await row.getByRole('link', { name: 'R-40021' }).click();
  await fillDate(chris, 'admitted', 3, 11, 2026);
  await chris.getByRole('button', { name: 'Record hospital stay' }).click();
  await chris.locator('#notification').waitFor();
  await chris.getByRole('link', { name: 'R-40021' }).click();
  await fillDate(chris, 'returned', 1, 11, 2026);
  await chris.getByRole('button', { name: 'Record return' }).click();
  await chris.locator('.error-summary').waitFor();
  assert.match(await chris.locator('.error-summary').innerText(), /cannot end before it starts/);
  await checkA11y(chris, 'placement, with errors');
  await fillDate(chris, 'returned', 14, 11, 2026);
  await chris.getByRole('button', { name: 'Record return' }).click();
  await chris.locator('#notification').waitFor();
  assert.match(await chris.locator('#placements tbody tr', { hasText: 'R-40021' }).innerText(), /3 November 2026 to 14 November 2026/);
  await screenshot(chris, 'portal-placements');

  // Change of ownership: a new location, the placement moved.
  await chris.goto(oldUrl);
  await chris.locator('#edit-link').click();
  await checkA11y(chris, 'location details');
  await checkLabels(chris, 'location details');
  await chris.locator('#ownership-link').click();
  await chris.getByLabel("Or a new provider's name").fill('Lighthouse Homes Ltd');
  await chris.getByLabel('New CQC location ID').fill('1-555000002');
  await fillDate(chris, 'from', 1, 12, 2026);
  await checkA11y(chris, 'change of ownership');
  await checkLabels(chris, 'change of ownership');
  await chris.getByRole('button', { name: 'Record change of ownership' }).click();
  await chris.locator('#notification').waitFor();
  assert.match(await chris.locator('#notification').innerText(), /Change of ownership recorded/);
  assert.match(await chris.locator('.caption').first().innerText(), /Lighthouse Homes Ltd/);
  await chris.locator('#placements-link').click();
  assert.match(await chris.locator('#placements tbody tr', { hasText: 'R-40021' }).innerText(), /1 December 2026/);
  await chris.goto(`${oldUrl}/placements`);
  assert.match(await chris.locator('#placements tbody tr', { hasText: 'R-40021' }).innerText(), /Ended 30 November 2026/);
});

test('only commissioners change places; providers cannot see placements', async () => {
  const lead = await newPage(browser);
  await signIn(lead, 'lead');
  for (const path of ['/locations/new']) {
    const r = await lead.goto(`${BASE}${path}`);
    assert.equal(r.status(), 403, `lead ${path}`);
  }
  await lead.goto(`${BASE}/locations`);
  assert.equal(await lead.locator('#add-location').count(), 0);
  const href = await lead.getByRole('link', { name: 'Seaview House', exact: true }).getAttribute('href');
  const coastal = await newPage(browser);
  await signIn(coastal, 'coastal');
  for (const path of [`${href}/placements`, `${href}/edit`, `${href}/change-of-ownership`, `${href}/monitors`, '/locations/new']) {
    const r = await coastal.goto(`${BASE}${path}`);
    assert.ok([403, 404].includes(r.status()), `provider ${path}: ${r.status()}`);
  }
});
