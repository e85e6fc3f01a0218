// A commissioner uploads a placements file with one bad row: the preview refuses it with its
// line number and reason and nothing is imported; the corrected file previews as additions,
// imports with progress, and its placements appear; the same file again changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const HEADER = 'cqc_location_id,resident_ref,funding,start,end,base_weekly_rate_pence';

async function upload(page, name, text) {
  await page.goto(`${BASE}/imports`);
  await page.getByLabel('Placements').check();
  await page.getByLabel('CSV file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
  await page.getByRole('button', { name: 'Upload and check' }).click();
}

test('a placements file with a bad row is refused whole, then imported once corrected', async () => {
  const chris = await newPage(browser);
  await signIn(chris, 'commissioner');
  await chris.goto(`${BASE}/imports`);
  await checkA11y(chris, 'imports');
  await checkLabels(chris, 'imports');

  // Nothing chosen: the error summary.
  await chris.getByRole('button', { name: 'Upload and check' }).click();
  await chris.locator('.error-summary').waitFor();
  assert.match(await chris.locator('.error-summary').innerText(), /Choose what the file holds/);
  await checkA11y(chris, 'imports, with errors');

  const good = [
    '1-101000001,IMP-0001,council_permanent,2026-11-01,,90000',
    '1-101000001,IMP-0002,council_short_term,2026-11-02,2026-11-20,91000',
  ];
  await upload(chris, 'placements.csv', [HEADER, ...good, '1-101000001,IMP-0003,council_permanent,2026-11-05,2026-11-01,90000', ''].join('\n'));
  await chris.locator('#refused-rows').waitFor();
  assert.equal((await chris.locator('#count-refused').innerText()).trim(), '1');
  const refused = await chris.locator('#refused-rows tbody tr').innerText();
  assert.match(refused, /^4\s/, 'line 4 is named');
  assert.match(refused, /cannot end before it starts/);
  assert.equal(await chris.locator('#import').count(), 0, 'no import button while a row is refused');
  await checkA11y(chris, 'import preview with a refused row');
  await screenshot(chris, 'portal-import-refused');

  // Nothing changed.
  const seaview = await chris.evaluate(async (base) => {
    const r = await fetch(`${base}/locations`);
    const html = await r.text();
    return html.match(/href="(\/locations\/[0-9a-f-]{36})">Seaview House</)[1];
  }, BASE);
  await chris.goto(`${BASE}${seaview}/placements`);
  assert.equal(await chris.locator('#placements tbody tr', { hasText: 'IMP-000' }).count(), 0);

  await upload(chris, 'placements.csv', [HEADER, ...good, ''].join('\n'));
  assert.equal((await chris.locator('#count-add').innerText()).trim(), '2');
  await checkA11y(chris, 'import preview');
  await screenshot(chris, 'portal-import-preview');
  await chris.locator('#import').click();
  await chris.locator('#notification').waitFor({ timeout: 20000 });
  assert.match(await chris.locator('#notification').innerText(), /2 rows written/);
  await chris.goto(`${BASE}${seaview}/placements`);
  assert.equal(await chris.locator('#placements tbody tr', { hasText: 'IMP-000' }).count(), 2);

  // The same file again: nothing to do.
  await upload(chris, 'placements.csv', [HEADER, ...good, ''].join('\n'));
  await chris.locator('#nothing-to-do').waitFor();
  assert.equal((await chris.locator('#count-same').innerText()).trim(), '2');
});

test('a large file imports with progress shown', async () => {
  const chris = await newPage(browser);
  await signIn(chris, 'commissioner');
  const rows = [HEADER];
  for (let i = 0; i < 10000; i++) {
    rows.push(`1-10${1 + (i % 2)}00000${1 + (i % 2)},BULK-${String(i).padStart(5, '0')},council_permanent,2026-0${1 + (i % 9)}-01,,${80000 + i}`);
  }
  await upload(chris, 'bulk.csv', rows.join('\n'));
  assert.equal((await chris.locator('#count-add').innerText()).trim(), '10000');
  await chris.locator('#import').click();
  // Either the progress page or, on a fast machine, the result.
  await chris.locator('#progress, #notification').first().waitFor();
  if (await chris.locator('#progress').count()) {
    assert.match(await chris.locator('#progress-text').innerText(), /of \d+/);
    await screenshot(chris, 'portal-import-progress');
  }
  await chris.locator('#notification').waitFor({ timeout: 60000 });
  assert.match(await chris.locator('#notification').innerText(), /10,000 rows written|10000 rows written/);
});
