// A commissioner looks at the whole market: tiers over time (a chart that reads without colour,
// and its table), premium spend by tier with the 12 months ahead committed, and where scores are
// lowest (domains, criteria, a heat map of every location filtered by tier, with a number in
// every cell). A lead sees the same pages at a tablet's width; a provider cannot reach them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Reloads until no location is waiting for a refresh (the background task runs every second). */
async function settled(page, path) {
  for (let i = 0; i < 60; i += 1) {
    await page.goto(`${BASE}${path}`);
    const note = await page.locator('#freshness').innerText();
    if (!/still being refreshed/.test(note) && /Figures as of/.test(note)) return note;
    await page.waitForTimeout(500);
  }
  throw new Error(`the market figures never settled on ${path}`);
}

test('a commissioner reads tiers, spend and the lowest scores across the market', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  await page.getByRole('link', { name: 'Market', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/market');
  await settled(page, '/market');
  await checkA11y(page, 'market: tiers over time');

  // The chart is an image with a text alternative, a legend of patterns, and the table.
  const chart = page.locator('svg[role=img]').first();
  assert.match(await chart.locator('title').textContent(), /Locations at each tier/);
  assert.match(await chart.locator('desc').textContent(), /On \d+ \w+ \d{4}: /);
  const legend = await page.locator('.chart-legend').innerText();
  assert.match(legend, /Gold/);
  assert.match(legend, /No tier/);
  const rows = page.locator('#tiers-table tbody tr');
  assert.equal(await rows.count(), 24, 'the last 24 months');
  const today = await page.locator('#tiers-today').innerText();
  assert.match(today, /All registered locations\s+5/);
  await screenshot(page, 'portal-market-tiers');

  await page.getByRole('link', { name: 'Premium spend' }).click();
  await page.waitForURL((u) => u.pathname === '/market/spend');
  await checkA11y(page, 'market: premium spend');
  assert.match(await page.locator('#committed-total').innerText(), /^£[\d,]+\.\d\d$/);
  const months = page.locator('#spend-table tbody tr');
  assert.equal(await months.count(), 36, '24 months and 12 ahead');
  assert.equal(await page.locator('#spend-table tbody tr', { hasText: 'committed' }).count(), 12);
  assert.match(await page.locator('svg[role=img] text', { hasText: 'Ahead' }).first().textContent(), /Ahead: committed/);
  assert.match(await page.locator('svg[role=img] desc').first().textContent(), /committed at today's placements/);
  await screenshot(page, 'portal-market-spend');

  await page.getByRole('link', { name: 'Where scores are lowest' }).click();
  await page.waitForURL((u) => u.pathname === '/market/quality');
  await checkA11y(page, 'market: where scores are lowest');
  await checkLabels(page, 'market: where scores are lowest');
  assert.ok(await page.locator('#domains tbody tr').count() >= 5, 'every domain');
  assert.ok(await page.locator('#criteria tbody tr').count() > 0, 'criteria');
  const heat = page.locator('#heat-table tbody tr');
  const all = await heat.count();
  assert.ok(all > 0, 'locations with scores');
  // A number in every cell, worst first.
  const cells = await page.locator('#heat-table tbody td.numeric').allInnerTexts();
  assert.ok(cells.every((c) => /\d+\.\d%|—/.test(c)), cells.join(' | '));
  const lowest = await page.locator('#heat-table tbody tr').evaluateAll((trs) => trs.map((tr) => Math.min(
    ...[...tr.querySelectorAll('td.numeric')].slice(1).map((td) => parseFloat(td.innerText)).filter((n) => !Number.isNaN(n)),
  )));
  assert.deepEqual(lowest, [...lowest].sort((a, b) => a - b), 'worst first');
  await screenshot(page, 'portal-market-quality', '#heat');

  // Filtered by tier: only Gold locations, fewer rows.
  await page.getByLabel('Tier today').selectOption({ label: 'Gold' });
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL((u) => u.searchParams.get('tier') === 'Gold');
  const gold = await page.locator('#heat-table tbody tr').count().catch(() => 0);
  assert.ok(gold < all, `${gold} Gold of ${all}`);
  for (const t of await page.locator('#heat-table tbody tr td:nth-of-type(1)').allInnerTexts()) assert.equal(t, 'Gold');
  await checkA11y(page, 'market: filtered by tier');

  // A page number that is no number is a clear error, not a guess.
  const bad = await page.goto(`${BASE}/market/quality?page=x`);
  assert.equal(bad.status(), 400);
  assert.match(await page.locator('main').innerText(), /page must be a whole number/);
  await page.close();
});

test('a lead reads the market at a tablet width; a provider cannot reach it', async () => {
  const lead = await newPage(browser, { width: 820, height: 1180 });
  await signIn(lead, 'lead');
  await settled(lead, '/market/spend');
  await checkA11y(lead, 'market spend at tablet width');
  await screenshot(lead, 'portal-market-spend-tablet');
  await lead.goto(`${BASE}/market/quality`);
  await checkA11y(lead, 'market quality at tablet width');
  await screenshot(lead, 'portal-market-quality-tablet', '#heat');
  await lead.close();

  const provider = await newPage(browser);
  await signIn(provider, 'coastal');
  assert.equal(await provider.getByRole('link', { name: 'Market', exact: true }).count(), 0);
  for (const path of ['/market', '/market/spend', '/market/quality']) {
    const r = await provider.goto(`${BASE}${path}`);
    assert.equal(r.status(), 404, path);
  }
  await provider.close();
});
