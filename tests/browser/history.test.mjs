// A visit's history in a real browser: from a published report, its revisions (read from the
// visit's own history) and the comparison with the previous published visit, for a lead and
// for the provider; providers never see a revision's changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, screenshot, locationId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The newest published visit report of a location, by its visits table. */
async function latestPublished(page, name) {
  const id = await locationId(page, name);
  await page.goto(`${BASE}/locations/${id}`);
  const row = page.locator('#visits tbody tr', { hasText: 'Published' }).first();
  return row.locator('a').getAttribute('href');
}

test('a lead reads a visit as signed and compares it with the previous published visit', async () => {
  const page = await newPage(browser, { width: 1024, height: 1366 });
  await signIn(page, 'lead');
  const report = await latestPublished(page, 'Seaview House');
  await page.goto(`${BASE}${report}`);
  await page.locator('#history').click();
  await page.waitForURL((u) => u.pathname.endsWith('/history'));
  await checkA11y(page, 'visit history');
  assert.equal(await page.locator('#revisions tbody tr').count(), 1);
  assert.match(await page.locator('#revisions tbody tr').first().innerText(), /Accepted, published/);

  await page.getByRole('link', { name: 'The record at revision 1' }).click();
  assert.match(await page.locator('#revision-summary').innerText(), /Signed by Mo Patel/);
  assert.ok(await page.locator('#revision-results tbody tr').count() > 90, 'every criterion of the pack');
  await checkA11y(page, 'a revision read from history');
  await screenshot(page, 'portal-revision', 'h1');

  await page.goto(`${BASE}${report}`);
  await page.locator('#compare-previous').click();
  await page.waitForURL((u) => u.pathname.endsWith('/compare-previous'));
  const domains = page.locator('#domain-changes tbody tr');
  assert.equal(await domains.count(), 6, 'five domains and the overall score');
  assert.match(await domains.last().innerText(), /Overall.*%.*%.*(up|down) [\d.]+ points|no change/s);
  assert.ok(await page.locator('#criterion-changes tbody tr').count() > 0, 'the two visits differ');
  await checkA11y(page, 'two published visits compared');
  await screenshot(page, 'portal-compare-previous', 'h1');
});

test('the provider compares its published visits but never sees revision changes', async () => {
  const page = await newPage(browser);
  await signIn(page, 'coastal');
  const report = await latestPublished(page, 'Seaview House');
  await page.goto(`${BASE}${report}`);
  await page.locator('#compare-previous').click();
  await page.waitForURL((u) => u.pathname.endsWith('/compare-previous'));
  assert.ok(await page.locator('#domain-changes').count() === 1);
  await page.goto(`${BASE}${report}/history`);
  assert.equal(await page.getByRole('link', { name: /What changed in revision/ }).count(), 0);
  const changes = await page.request.get(`${BASE}${report}/revisions/2/changes`);
  assert.equal(changes.status(), 403);
});
