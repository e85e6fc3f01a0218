// A lead shares and publishes a visit, seeing the tier change first; a commissioner records a
// CQC rating that caps a tier, runs a what-if on a draft rule set and downloads a payment CSV
// whose totals match the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot, locationId, pence, parseCsv } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function dateParts(daysAgo) {
  const d = new Date(Date.now() - daysAgo * 86400000);
  return { day: String(d.getUTCDate()), month: String(d.getUTCMonth() + 1), year: String(d.getUTCFullYear()) };
}

test('a lead shares a visit after confirming, the provider comments beside a criterion, and the commissioner publishes after seeing the tier change and the comment', async () => {
  const lead = await newPage(browser);
  await signIn(lead, 'lead');
  await lead.goto(`${BASE}/review`);
  await checkA11y(lead, 'review queue');
  const item = lead.locator('#to-share li', { hasText: 'Bispham Gardens' });
  await screenshot(lead, 'portal-review');

  // The signed-off report offers the lead a Share button too.
  await item.getByRole('link', { name: /^Bispham Gardens: / }).click();
  const reportUrl = lead.url();
  assert.equal(await lead.locator('#share').innerText(), 'Share with the provider');
  assert.ok(await lead.locator('#contents a[href^="#domain-"]').count() >= 5, 'contents by domain');

  // Sharing asks first: who it goes to and until when they can comment.
  await lead.goto(`${BASE}/review`);
  await item.getByRole('link', { name: 'Share with provider' }).click();
  assert.equal(await lead.locator('h1').innerText(), 'Share this report with Fylde Homes Partnership?');
  assert.match(await lead.locator('#share-window').innerText(), /^They can comment on its factual accuracy until \d{1,2} \w+ \d{4}\./);
  await checkA11y(lead, 'share confirmation');
  await checkLabels(lead, 'share confirmation');
  await screenshot(lead, 'portal-share-confirm');
  // Cancel goes back and shares nothing.
  await lead.getByRole('link', { name: 'Cancel' }).click();
  assert.equal(new URL(lead.url()).pathname, '/review');
  assert.equal(await lead.locator('#to-share li', { hasText: 'Bispham Gardens' }).count(), 1);
  await item.getByRole('link', { name: 'Share with provider' }).click();
  await lead.getByRole('button', { name: 'Share the report' }).click();
  const shared = await lead.locator('#notification').innerText();
  assert.match(shared, /You shared the report of Bispham Gardens, \d{1,2} \w+ \d{4} with Fylde Homes Partnership\. They can comment on its factual accuracy until \d{1,2} \w+ \d{4}\./);
  await lead.locator('#in-window li', { hasText: 'Bispham Gardens' }).waitFor();
  await checkA11y(lead, 'review queue after sharing');
  await screenshot(lead, 'portal-review-shared');
  await lead.goto(reportUrl);
  assert.equal(await lead.locator('#share').count(), 0, 'no Share button once shared');

  // The provider comments beside one criterion: an empty comment is refused there first.
  const fylde = await newPage(browser);
  await signIn(fylde, 'fylde');
  await fylde.getByRole('link', { name: 'Bispham Gardens', exact: true }).click();
  await fylde.locator('#visits tbody tr', { hasText: 'comments open until' }).getByRole('link').click();
  const criterion = fylde.locator('.criterion').nth(4);
  const cid = (await criterion.getAttribute('id')).replace(/^criterion-/, '');
  await criterion.getByRole('link', { name: 'Comment on this' }).click();
  const form = fylde.locator(`[id="criterion-${cid}"] #comment-form`);
  await form.waitFor();
  await checkA11y(fylde, 'comment beside a criterion');
  await checkLabels(fylde, 'comment beside a criterion');
  await form.getByRole('button', { name: 'Send comment' }).click();
  const summary = fylde.locator('.error-summary');
  await summary.waitFor();
  assert.equal(await summary.getByRole('link', { name: 'Enter your comment' }).getAttribute('href'), '#criterion-comment');
  assert.match(await fylde.title(), /^Error: /);
  assert.equal(await fylde.locator(`[id="criterion-${cid}"] #criterion-comment-error`).count(), 1, 'the error shows beside its criterion');
  await checkA11y(fylde, 'comment beside a criterion, refused');
  await screenshot(fylde, 'portal-comment-error', `[id="criterion-${cid}"]`);
  const words = 'The staff training record was updated in October; the report quotes the July figures.';
  await fylde.getByLabel('Your comment on this criterion').fill(words);
  await fylde.locator('#comment-form').getByRole('button', { name: 'Send comment' }).click();
  const sent = fylde.locator(`[id="criterion-${cid}"] #notification`);
  await sent.waitFor();
  assert.match(await sent.innerText(), /sent to the lead officer/);
  assert.match(await fylde.locator(`[id="criterion-${cid}"] .comment`).last().innerText(), /updated in October/);
  await screenshot(fylde, 'portal-comment-sent', `[id="criterion-${cid}"]`);
  await fylde.getByRole('button', { name: 'I have no further comments' }).click();
  await fylde.locator('#notification').waitFor();

  // The queue links to the comment; the publish check lists it as not answered, with a link.
  const commissioner = await newPage(browser);
  await signIn(commissioner, 'commissioner');
  await commissioner.goto(`${BASE}/review`);
  const ready = commissioner.locator('#to-publish li', { hasText: 'Bispham Gardens' });
  const toComments = ready.getByRole('link', { name: '1 comment from the provider, 1 not answered' });
  assert.match(await toComments.getAttribute('href'), /^\/visits\/[0-9a-f-]+#provider-comments$/);
  await ready.getByRole('link', { name: 'Check and publish' }).click();
  const before = await commissioner.locator('#tier-now').innerText();
  const afterTier = await commissioner.locator('#tier-after').innerText();
  assert.match(await commissioner.locator('#tier-change').innerText(), /The tier (stays|changes from)/);
  assert.match(await commissioner.locator('#unanswered').innerText(), /^1 comment is not answered yet\./);
  const thread = commissioner.locator('#comment-threads tbody tr');
  assert.equal(await thread.count(), 1);
  assert.match(await thread.innerText(), /updated in October[\s\S]*Not answered/);
  assert.match(await thread.getByRole('link').getAttribute('href'), new RegExp(`#criterion-${cid.replace(/\./g, '\\.')}$`));
  // Placements are counted as the payments page counts them.
  const placements = await commissioner.locator('#placements').innerText();
  const m = placements.match(/^(\d+) of the (\d+) placements? running today/);
  assert.ok(m, placements);
  assert.match(await commissioner.locator('#weekly-now').innerText(), new RegExp(`^£[\\d,]+\\.\\d\\d a week \\(${m[1]} placements? × £\\d+\\.\\d\\d\\)$|^Nothing`));
  await checkA11y(commissioner, 'publish check');
  await screenshot(commissioner, 'portal-publish-check');
  const publishUrl = commissioner.url();
  await commissioner.goto(`${BASE}/payments`);
  const paid = await commissioner.locator('#payment-lines tbody tr', { hasText: 'Bispham Gardens' }).count();
  assert.equal(Number(m[1]), paid, 'the publish check counts the placements the payments page pays');
  await commissioner.goto(publishUrl);
  await commissioner.getByRole('button', { name: 'Publish' }).click();
  const notice = await commissioner.locator('#notification').innerText();
  assert.match(notice, /Visit published/);
  assert.equal(await commissioner.locator('#tier').innerText(), afterTier, 'the tier shown before publishing is the tier after');
  if (before !== afterTier) assert.match(notice, new RegExp(`changed from ${before} to ${afterTier}`));

  // The public register shows the published visit, and links its tier to the report summary:
  // dates, scores and tier, never the notes or the provider's comments.
  const notes = await lead.goto(reportUrl).then(() => lead.locator('.criterion .notes').allInnerTexts());
  const pub = await newPage(browser);
  await pub.goto(`${BASE}/register?q=Bispham`);
  const row = pub.locator('#register tbody tr').first();
  assert.match(await row.innerText(), new RegExp(afterTier));
  await row.getByRole('link', { name: 'Report summary of Bispham Gardens' }).click();
  assert.match(await pub.locator('h1').innerText(), /^Annual visit, \d{1,2} \w+ \d{4}$/);
  assert.equal(await pub.locator('#tier').innerText(), afterTier);
  assert.equal(await pub.locator('#domain-scores tbody tr').count(), 6, 'five domains and overall');
  const page = await pub.locator('main').innerText();
  assert.ok(!page.includes('updated in October'), 'no provider comments');
  for (const n of notes.filter((n) => n.length > 20)) assert.ok(!page.includes(n), `no notes: ${n}`);
  assert.equal(await pub.locator('main img').count(), 0, 'no photos');
  await checkA11y(pub, 'public report summary');
  await screenshot(pub, 'portal-register-summary');

  // Only published visits have a public summary: a draft is not found, like any other address.
  await lead.goto(`${BASE}/review`);
  const draft = (await lead.locator('#in-window li a').first().getAttribute('href')).split('/').pop();
  for (const id of [draft, '00000000-0000-4000-8000-000000000000', 'not-an-id']) {
    const r = await pub.goto(`${BASE}/register/reports/${id}`);
    assert.equal(r.status(), 404, id);
    assert.match(await pub.locator('body').innerText(), /Page not found/);
  }
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

  // Adopting needs a start date after today: never retrospective. "Adopt" is not offered; the
  // page says why.
  await page.getByLabel('Draft rule set').fill(changed);
  await page.getByRole('button', { name: 'Show the effect' }).click();
  assert.equal(await page.locator('#adopt button').count(), 0);
  assert.match(await page.locator('#adopt-reasons').innerText(), /future date, never retrospectively/);
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

  // Each line says its tier and premium by period, never a bare list of tiers.
  const periods = await page.locator('#payment-lines tbody tr:not(.total) td.periods').allInnerTexts();
  for (const p of periods) {
    assert.match(p, /^(Gold|Silver|Bronze|No tier), \d{1,2}( to \d{1,2})? \w+: /m, p);
    assert.doesNotMatch(p, /^(\w+), \1$/);
  }

  // The month is chosen with month and year fields; a bad one gets the error summary.
  const now = new Date();
  assert.equal(await page.locator('#period-month').inputValue(), String(now.getUTCMonth() + 1));
  assert.equal(await page.locator('#period-year').inputValue(), String(now.getUTCFullYear()));
  await page.locator('#period-month').fill('13');
  await page.getByRole('button', { name: 'Show payments' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.equal(await summary.getByRole('link', { name: 'The month must be a number from 1 to 12' }).getAttribute('href'), '#period-month');
  assert.match(await page.title(), /^Error: /);
  await checkA11y(page, 'payments with a bad month');
  await screenshot(page, 'portal-payments-error', 'body');
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const name = last.toLocaleString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  await page.locator('#period-month').fill(String(last.getUTCMonth() + 1));
  await page.locator('#period-year').fill(String(last.getUTCFullYear()));
  await page.getByRole('button', { name: 'Show payments' }).click();
  assert.equal(await page.locator('#month').innerText(), `Payment schedule for ${name}`);
  await page.getByRole('button', { name: `Issue the payment schedule for ${name}` }).waitFor();
  await checkLabels(page, 'payments for last month');

  // A link with the month written YYYY-MM still works; a bad one is an error, not a crash.
  await page.goto(`${BASE}/payments?period=2026-13`);
  assert.match(await page.locator('.error-summary').innerText(), /Enter a real month/);
});

test('the audit log reads in words, with tiers before and after, and searches by dates', async () => {
  const page = await newPage(browser);
  await signIn(page, 'commissioner');
  const seaview = await locationId(page, 'Seaview House');
  await page.goto(`${BASE}/audit`);
  await checkA11y(page, 'audit');
  await checkLabels(page, 'audit');
  await page.getByLabel('Location').selectOption(seaview);
  await page.getByRole('button', { name: 'Search' }).click();
  const rating = page.locator('#audit tbody tr', { hasText: 'Recorded a CQC rating' }).first();
  const text = await rating.innerText();
  assert.match(text, /Overall: Requires improvement; inspected \d{1,2} \w+ \d{4}, published \d{1,2} \w+ \d{4}/);
  assert.match(text, /Tier Gold \(£\d+\.\d\d a week per placement\) → Silver \(£\d+\.\d\d a week per placement\)/);
  assert.equal(await page.locator('#audit code').count(), 0, 'every action is in words');
  const places = new Set(await page.locator('#audit tbody tr td:nth-child(4)').allInnerTexts());
  assert.deepEqual([...places], ['Seaview House']);
  await screenshot(page, 'portal-audit', 'body');

  // Dates are GOV.UK date inputs; a date that does not exist gets the error summary.
  await page.goto(`${BASE}/audit`);
  await page.locator('#from-day').fill('31');
  await page.locator('#from-month').fill('2');
  await page.locator('#from-year').fill('2026');
  await page.getByRole('button', { name: 'Search' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.equal(await summary.getByRole('link', { name: 'The first day must be a real date' }).getAttribute('href'), '#from-day');
  assert.match(await page.title(), /^Error: /);
  assert.equal(await page.locator('#from-day').inputValue(), '31', 'what was typed is kept');
  await checkA11y(page, 'audit with a bad date');
  await screenshot(page, 'portal-audit-error', 'body');
  const today = new Date();
  for (const id of ['from', 'to']) {
    await page.locator(`#${id}-day`).fill(String(today.getUTCDate()));
    await page.locator(`#${id}-month`).fill(String(today.getUTCMonth() + 1));
    await page.locator(`#${id}-year`).fill(String(today.getUTCFullYear()));
  }
  await page.getByRole('button', { name: 'Search' }).click();
  const days = await page.locator('#audit tbody tr td:first-child').allInnerTexts();
  assert.ok(days.length > 0, 'something happened today');
  const todayWords = today.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
  for (const d of days) assert.ok(d.startsWith(todayWords), `${d} is today`);
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
