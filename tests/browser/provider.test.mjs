// A provider reads its status and a report, comments during the factual-accuracy window and
// answers an action; it never sees another provider's pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot, locationId } from './lib.mjs';

/** A 48×32 JPEG. */
const TINY_JPEG = Buffer.from('/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAgADADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEBAQEAAAAAAAAAAAAAAAAAAAYH/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AlwGipgAAAAAAAAAB/9k=', 'base64');

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('sign-in errors use the error summary and keep nothing secret', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/sign-in`);
  await checkA11y(page, 'sign-in');
  await checkLabels(page, 'sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /Enter your username/);
  assert.match(await summary.innerText(), /Enter your password/);
  assert.equal(await summary.getByRole('link', { name: 'Enter your username' }).getAttribute('href'), '#username');
  assert.match(await page.title(), /^Error: /);
  await page.getByLabel('Username').fill('coastal');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.match(await page.locator('.error-summary').innerText(), /username or password is not right/);
  assert.equal(await page.getByLabel('Username').inputValue(), 'coastal', 'the username is kept');
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not sent back');
  await checkA11y(page, 'sign-in with errors');
  await screenshot(page, 'portal-sign-in-error');
});

test('a provider reads its status, comments in the window and answers an action', async () => {
  const page = await newPage(browser);
  await signIn(page, 'coastal');
  assert.equal(new URL(page.url()).pathname, '/locations');
  const names = await page.locator('#locations tbody tr td:first-child a').allInnerTexts();
  assert.deepEqual(names.sort(), ['Promenade Court', 'Seaview House'], 'only its own locations');
  await checkA11y(page, 'provider locations');
  await checkLabels(page, 'provider locations');
  await screenshot(page, 'portal-provider-locations');

  // Status: tier, premium, why, what next, history.
  await page.getByRole('link', { name: 'Seaview House', exact: true }).click();
  assert.equal(await page.locator('h1').innerText(), 'Seaview House');
  const tier = await page.locator('#tier').innerText();
  assert.match(tier, /^(Gold|Silver|Bronze|No tier)$/);
  assert.match(await page.locator('#premium').innerText(), /^£\d+\.\d\d a week$/);
  assert.equal(await page.locator('#scores tbody tr').count(), 6, 'five domains and overall');
  assert.ok(await page.locator('#qualifications li').count() >= 1, 'IIP is listed');
  assert.match(await page.locator('#next-tier').innerText(), /highest tier|needs/);
  // One line for the overall score over the tier bands, named in words; domains in the table.
  const chart = page.locator('figure.chart svg[role="img"]');
  assert.equal(await chart.count(), 1);
  assert.equal(await chart.locator('polyline').count(), 1, 'one line, the overall score');
  const desc = await chart.locator('desc').textContent();
  assert.match(desc, /Overall score at \d+ published visits/);
  assert.match(desc, /Gold needs \d+\.\d% overall, Silver needs \d+\.\d% overall, Bronze needs \d+\.\d% overall/);
  for (const band of ['Gold', 'Silver', 'Bronze', 'No tier']) {
    assert.equal(await chart.locator('text tspan', { hasText: band }).count(), 1, `${band} band named`);
  }
  assert.ok(await page.locator('#history tbody tr').count() >= 2, 'history has several visits');
  const domains = await page.locator('#history thead th').allInnerTexts();
  assert.deepEqual(domains.slice(0, 3), ['In effect from', 'Tier', 'Overall']);
  assert.equal(domains.length, 8, 'five domains in the table');
  await checkA11y(page, 'location status');
  await screenshot(page, 'portal-status');
  await screenshot(page, 'portal-status-chart', 'figure.chart');

  // The shared follow-up at Promenade Court: a draft open for comments.
  await page.goto(`${BASE}/locations`);
  await page.getByRole('link', { name: 'Promenade Court', exact: true }).click();
  if ((await page.locator('#tier').innerText()) === 'Bronze') {
    // What would move it up: the gaps to Silver's thresholds, in figures.
    const next = await page.locator('#next-tier').innerText();
    assert.match(next, /^Silver pays £\d+\.\d\d a week per placement\. It needs:/);
    assert.match(next, /Overall score for Silver: \d+\.\d% now, 75\.0% needed\./);
  }
  const draft = page.locator('#visits tbody tr', { hasText: 'comments open until' });
  await draft.getByRole('link').click();
  await page.locator('#report-status').waitFor();
  const reportUrl = page.url();
  assert.match(await page.locator('#report-status').innerText(), /shared for factual accuracy/);
  await checkA11y(page, 'visit report');
  await checkLabels(page, 'visit report');

  // A contents list by domain at the top links to each domain's section.
  const contents = page.locator('#contents a[href^="#domain-"]');
  assert.equal(await contents.count(), 5);
  const target = await contents.nth(2).getAttribute('href');
  assert.equal(await page.locator(`section${target} h2`).count(), 1);

  // An empty comment on the whole report is refused with the error summary, linked to the field.
  await page.locator('#comments').getByRole('button', { name: 'Send comment' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.equal(await summary.getByRole('link').getAttribute('href'), '#comment-body');
  assert.match(await page.locator('#comment-body-error').innerText(), /Enter your comment/);
  await checkA11y(page, 'visit report with an error');
  await screenshot(page, 'portal-report-error', 'body');

  // A comment beside one criterion.
  const criterion = page.locator('.criterion').nth(3);
  const cid = (await criterion.getAttribute('id')).replace(/^criterion-/, '');
  await criterion.getByRole('link', { name: 'Comment on this' }).click();
  const words = 'The fire risk assessment was reviewed in March, not last year.';
  await page.getByLabel('Your comment on this criterion').fill(words);
  await page.locator('#comment-form').getByRole('button', { name: 'Send comment' }).click();
  await page.locator('#notification').waitFor();
  assert.match(await page.locator(`[id="criterion-${cid}"] .comment`).last().innerText(), /reviewed in March/);

  // The lead sees it unanswered, answers beside it, and then it counts as answered; the
  // provider sees the answer with the report.
  const lead = await newPage(browser);
  await signIn(lead, 'lead');
  await lead.goto(`${BASE}/review`);
  await lead.locator('#in-window li', { hasText: 'Promenade Court' }).getByRole('link', { name: '1 comment from the provider, 1 not answered' }).click();
  assert.match(await lead.locator('#provider-comments-title').innerText(), /1 not answered/);
  await lead.locator('#provider-comments').getByRole('link').first().click();
  await lead.locator(`[id="criterion-${cid}"]`).getByRole('link', { name: 'Answer or comment on this' }).click();
  await lead.getByLabel('Your answer or comment on this criterion').fill('Thank you: the date is corrected in the published report.');
  await lead.locator('#comment-form').getByRole('button', { name: 'Send comment' }).click();
  await lead.locator('#notification').waitFor();
  assert.match(await lead.locator('#provider-comments-title').innerText(), /0 not answered/);
  await page.goto(reportUrl);
  assert.match(await page.locator(`[id="criterion-${cid}"]`).innerText(), /Comment from Lena Shaw \(Lead Officer\), [^\n]+\s+Thank you: the date is corrected/);

  // An answer to an action, with a photo that carries GPS in its EXIF, and a PDF.
  const action = page.locator('.action').first();
  const exif = Buffer.from('Exif\0\0GPS 53.81N 3.05W room12');
  const withGps = Buffer.concat([
    TINY_JPEG.subarray(0, 2),
    Buffer.from([0xff, 0xe1, (exif.length + 2) >> 8, (exif.length + 2) & 0xff]), exif,
    TINY_JPEG.subarray(2),
  ]);
  const reply = 'PRN protocols written for all four residents; the pharmacist checked them.';
  await action.getByLabel('Your response to this action').fill(reply);
  await action.getByLabel('Evidence (optional)').setInputFiles([
    { name: 'door.jpg', mimeType: 'image/jpeg', buffer: withGps },
    { name: 'prn-protocols.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% PRN protocols\n%%EOF\n') },
  ]);
  await action.getByRole('button', { name: 'Send response' }).click();
  await page.locator('#notification').waitFor();
  const answered = page.locator('.action').first();
  assert.match(await answered.innerText(), /pharmacist checked them/);
  const photo = answered.locator('img.evidence-image').last();
  assert.equal(await photo.evaluate((img) => img.complete && img.naturalWidth), 48, 'the photo shows');
  const served = await page.request.get(new URL(await photo.getAttribute('src'), BASE).href);
  assert.equal(served.status(), 200);
  const bytes = await served.body();
  assert.ok(!bytes.includes(Buffer.from('GPS')) && !bytes.includes(Buffer.from('Exif')), 'no EXIF or GPS is served');
  assert.match(await answered.getByRole('link', { name: 'prn-protocols.pdf' }).last().getAttribute('href'), /\/files\//);

  // A file that is neither a photo nor a PDF is refused, with the text kept.
  await page.locator('.action').first().getByLabel('Your response to this action').fill('See the attached spreadsheet.');
  await page.locator('.action').first().getByLabel('Evidence (optional)').setInputFiles([
    { name: 'rota.xlsx', mimeType: 'application/vnd.ms-excel', buffer: Buffer.from('PK\x03\x04 not allowed') },
  ]);
  await page.locator('.action').first().getByRole('button', { name: 'Send response' }).click();
  assert.match(await page.locator('.error-summary').innerText(), /rota\.xlsx: The file must be a photo \(JPEG or PNG\) or a PDF/);
  assert.equal(await page.locator('.action').first().getByLabel('Your response to this action').inputValue(), 'See the attached spreadsheet.');
  await checkA11y(page, 'report with a file error');
  await page.goto(reportUrl);
  await screenshot(page, 'portal-report-actions', '#actions');
  await screenshot(page, 'portal-report', 'body');

  // Print: navigation and forms are not printed.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('form').first().isVisible(), false);
  assert.equal(await page.locator('.header nav').isVisible(), false);
  await page.emulateMedia({ media: 'screen' });
});

test("a provider typing another provider's address gets 404, never the data", async () => {
  const fylde = await newPage(browser);
  await signIn(fylde, 'fylde');
  const lodge = await locationId(fylde, 'Stanley Park Lodge');
  await fylde.goto(`${BASE}/locations/${lodge}`);
  const visit = (await fylde.locator('#visits tbody a').first().getAttribute('href')).split('/').pop();

  const coastal = await newPage(browser);
  await signIn(coastal, 'coastal');
  for (const path of [`/locations/${lodge}`, `/visits/${visit}`]) {
    const r = await coastal.goto(`${BASE}${path}`);
    assert.equal(r.status(), 404, path);
    const text = await coastal.locator('body').innerText();
    assert.ok(!text.includes('Stanley Park Lodge'), `no data on ${path}`);
    assert.match(text, /Page not found/);
  }
  // Posting to another provider's visit is refused the same way, and changes nothing.
  const r = await coastal.request.post(`${BASE}/visits/${visit}/comments`, { form: { form_key: 'x', body: 'hello' } });
  assert.ok([403, 404].includes(r.status()), `status ${r.status()}`);
});

test('the public register needs no sign-in', async () => {
  const page = await newPage(browser);
  const r = await page.goto(`${BASE}/register`);
  assert.equal(r.status(), 200);
  const rows = await page.locator('#register tbody tr').count();
  assert.ok(rows >= 4, `${rows} services listed`);
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  await page.getByLabel('Name, provider or address').fill('Seaview');
  await page.getByRole('button', { name: 'Search' }).click();
  assert.equal(await page.locator('#register tbody tr').count(), 1);
  await checkA11y(page, 'register');
  await checkLabels(page, 'register');
  await page.goto(`${BASE}/register`);
  await screenshot(page, 'portal-register');
  // Every tier shown links to a public summary of the published report behind it.
  const links = await page.locator('#register a.report-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(links.length >= 4, `${links.length} summaries linked`);
  for (const href of links) {
    const r = await page.goto(`${BASE}${href}`);
    assert.equal(r.status(), 200, href);
    assert.equal(await page.locator('#domain-scores tbody tr').count(), 6, href);
  }
});
