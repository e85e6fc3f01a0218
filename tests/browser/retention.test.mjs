// Appeals and records retention in the portal. A provider opens a published visit's report,
// follows "Appeals", lodges an appeal (empty grounds give the error summary linking to the
// field); a lead decides it (no outcome and no reason give both errors), and it reads
// "Dismissed" with the reason. A commissioner opens "Retention" from the menu: what is due now
// and within 90 days, what is kept and why, what was removed, and the rules in force. Monitors
// reach neither page. The commissioner adds a version of the schedule for a later day (a zero
// period gives the error summary first). Every page is checked with axe, at desk and tablet
// widths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a provider appeals against a published visit and a lead decides it', async () => {
  const coastal = await newPage(browser, { width: 768, height: 1024 });
  await signIn(coastal, 'coastal');
  await coastal.getByRole('link', { name: 'Seaview House', exact: true }).click();
  const published = coastal.locator('#visits tbody tr', { hasText: 'Published' }).first();
  await published.getByRole('link').click();
  await coastal.locator('#appeals').click();
  assert.equal(await coastal.locator('h1').innerText(), 'Appeals against this visit');
  await checkA11y(coastal, 'appeals against a visit');
  await checkLabels(coastal, 'appeals against a visit');
  await coastal.getByRole('button', { name: 'Lodge appeal' }).click();
  const summary = coastal.locator('.error-summary');
  await summary.waitFor();
  assert.equal(await summary.getByRole('link').getAttribute('href'), '#grounds');
  assert.match(await summary.innerText(), /Enter the grounds for the appeal/);
  assert.match(await coastal.title(), /^Error: /);
  await checkA11y(coastal, 'lodge an appeal, with errors');
  await screenshot(coastal, 'portal-appeal-lodge-error');
  await coastal.getByLabel('Grounds for the appeal').fill('The dining observation was made during a fire drill, so the scores for mealtimes do not reflect normal practice.');
  await coastal.getByRole('button', { name: 'Lodge appeal' }).click();
  await coastal.locator('#notification').waitFor();
  assert.match(await coastal.locator('#appeal-status').innerText(), /open/i);
  assert.equal(await coastal.getByRole('button', { name: 'Withdraw appeal' }).count(), 1, 'the appellant may withdraw');
  assert.equal(await coastal.getByRole('button', { name: 'Record decision' }).count(), 0, 'providers do not decide');
  await checkA11y(coastal, 'an open appeal');
  await screenshot(coastal, 'portal-appeal-open');
  const appealUrl = coastal.url().replace(/\?.*$/, '');

  const lead = await newPage(browser);
  await signIn(lead, 'lead');
  await lead.goto(`${BASE}/appeals`);
  await checkA11y(lead, 'appeals list');
  await lead.locator('#appeals tbody tr', { hasText: 'Seaview House' }).first().getByRole('link').click();
  assert.equal(lead.url().replace(/\?.*$/, ''), appealUrl);
  await lead.getByRole('button', { name: 'Record decision' }).click();
  await lead.locator('.error-summary').waitFor();
  const links = await lead.locator('.error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, ['#outcome', '#reason']);
  await checkA11y(lead, 'decide an appeal, with errors');
  await checkLabels(lead, 'decide an appeal');
  await screenshot(lead, 'portal-appeal-decide-error');
  await lead.getByLabel('Dismissed').check();
  await lead.getByLabel('Reason for the decision').fill('The fire drill took ten minutes; the mealtime was observed for an hour.');
  await lead.getByRole('button', { name: 'Record decision' }).click();
  await lead.locator('#notification').waitFor();
  assert.match(await lead.locator('#appeal-status').innerText(), /dismissed/i);
  assert.match(await lead.locator('#appeal').innerText(), /observed for an hour/);
  await checkA11y(lead, 'a decided appeal');
  await screenshot(lead, 'portal-appeal-decided');

  await coastal.goto(appealUrl);
  assert.equal(await coastal.getByRole('button', { name: 'Withdraw appeal' }).count(), 0, 'a decided appeal is not withdrawn');
});

test('a commissioner sees the records due for removal; monitors reach neither page', async () => {
  for (const viewport of [{ width: 1280, height: 900 }, { width: 768, height: 1024 }]) {
    const page = await newPage(browser, viewport);
    await signIn(page, 'commissioner');
    await page.getByRole('link', { name: 'Retention', exact: true }).click();
    assert.equal(await page.locator('h1').innerText(), 'Records due for removal');
    for (const h of ['Due for removal now', 'Due within the next 90 days', 'Expired but kept', 'Determinations and payment runs', 'Removed', 'Rules in force']) {
      assert.equal(await page.getByRole('heading', { name: h, exact: true }).count(), 1, h);
    }
    const rule = await page.locator('#rule').innerText();
    assert.match(rule, /\d+ (years?|months?|days?)(, \d+ \w+)* after the latest publication/);
    assert.match(rule, /Determinations\s+\d+ years?/);
    assert.match(rule, /Payment runs\s+\d+ years?/);
    await checkA11y(page, 'records due for removal');
    await screenshot(page, `portal-retention-${viewport.width}`);
  }
  // A new version for a later day: a zero period is refused at its field, then it is added.
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  await page.goto(`${BASE}/retention`);
  const box = page.getByLabel('The new version, in TOML');
  const example = await box.inputValue();
  assert.match(example, /^\[\[rules\]\]/);
  await box.fill(example.replace(/visit_records = \{[^}]*\}/, 'visit_records = {}'));
  await page.getByRole('button', { name: 'Add version' }).click();
  await page.locator('.error-summary').waitFor();
  assert.equal(await page.locator('.error-summary a').getAttribute('href'), '#toml');
  assert.match(await page.locator('.error-summary').innerText(), /rules\[0\]\.visit_records/);
  await checkA11y(page, 'add a retention version, with errors');
  await checkLabels(page, 'add a retention version');
  await screenshot(page, 'portal-retention-add-error', '.error-summary');
  await box.fill(example);
  await page.getByRole('button', { name: 'Add version' }).click();
  await page.locator('#notification').waitFor();
  assert.equal(await page.locator('#versions li').count(), 2, 'both versions listed');

  const monitor = await newPage(browser);
  await signIn(monitor, 'monitor1');
  assert.equal(await monitor.getByRole('link', { name: 'Retention', exact: true }).count(), 0);
  for (const path of ['/retention', '/appeals']) {
    const r = await monitor.goto(`${BASE}${path}`);
    assert.equal(r.status(), 404, path);
  }
});
