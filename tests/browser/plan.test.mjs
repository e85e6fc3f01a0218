// A lead plans visits: from the due list in one step (riskiest first), and from a location's
// page with the full form (a missing monitor gives the error summary); sees them in the list
// and the month calendar, filtered by monitor; moves one to another monitor and cancels another.
// The monitor sees their planned visits; a provider cannot reach the plan. A commissioner sees
// the email notices the plans wrote, and everyone chooses their notices on their account page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot, locationId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a lead plans from the due list and from a location, then moves and cancels visits', async () => {
  const lena = await newPage(browser);
  await signIn(lena, 'lead');
  await lena.getByRole('link', { name: 'Plan', exact: true }).click();
  await checkA11y(lena, 'visit plan');
  await lena.locator('#due-link').click();
  await checkA11y(lena, 'due and not planned');
  await checkLabels(lena, 'due and not planned');
  await screenshot(lena, 'portal-plan-due');
  const rows = lena.locator('#due tbody tr');
  const before = await rows.count();
  assert.ok(before > 0, 'something is due');
  const first = rows.first();
  const name = (await first.locator('td').first().getByRole('link').innerText()).trim();
  // One step: a day and a monitor are offered; choose Sam and plan.
  await first.getByRole('combobox').selectOption({ label: 'Sam Okafor' });
  await first.getByRole('button', { name: /^Plan/ }).click();
  await lena.waitForURL((u) => u.pathname === '/plan/due');
  assert.equal(await lena.locator('#due tbody tr', { has: lena.getByRole('link', { name, exact: true }) }).count(), 0, `${name} is planned now`);

  // The full form from a location's page: no monitor chosen is an error.
  const id = await locationId(lena, 'Promenade Court');
  await lena.goto(`${BASE}/locations/${id}`);
  await lena.locator('#plan-link').click();
  await lena.getByLabel('Kind of visit').selectOption({ label: 'Follow-up visit' });
  const d = new Date(Date.now() + 10 * 86400000);
  await lena.locator('#planned-day').fill(String(d.getUTCDate()));
  await lena.locator('#planned-month').fill(String(d.getUTCMonth() + 1));
  await lena.locator('#planned-year').fill(String(d.getUTCFullYear()));
  for (const box of await lena.locator('#monitors input[type=checkbox]').all()) await box.uncheck();
  await lena.getByRole('button', { name: 'Plan visit' }).click();
  await lena.locator('.error-summary').waitFor();
  assert.match(await lena.locator('.error-summary').innerText(), /Choose at least one monitor/);
  await checkA11y(lena, 'plan a visit, with errors');
  await checkLabels(lena, 'plan a visit');
  await lena.getByLabel('Mo Patel').check();
  await lena.getByRole('button', { name: 'Plan visit' }).click();
  await lena.locator('#notification').waitFor();
  const planned = lena.locator('#plans tbody tr', { hasText: 'Promenade Court' });
  assert.match(await planned.innerText(), /Follow-up visit/);
  assert.match(await planned.innerText(), /Mo Patel/);

  // The month calendar, for Mo only.
  await lena.locator('#calendar-link').click();
  await lena.getByLabel('Monitor').selectOption({ label: 'Mo Patel' });
  await lena.getByRole('button', { name: 'Show' }).click();
  const month = d.getUTCMonth() === new Date().getUTCMonth() ? null : '#next-month';
  if (month) await lena.locator(month).click();
  assert.ok(await lena.locator('#calendar a', { hasText: 'Promenade Court' }).count(), 'on the calendar');
  assert.equal(await lena.locator('#calendar a', { hasText: name }).count(), 0, "Sam's visit is filtered out");
  await checkA11y(lena, 'plan calendar');
  await screenshot(lena, 'portal-plan-calendar');

  // Move it to Sam, then cancel it (a reason is needed).
  await lena.locator('#calendar a', { hasText: 'Promenade Court' }).first().click();
  await lena.getByLabel('Mo Patel').uncheck();
  await lena.getByLabel('Sam Okafor').check();
  await lena.getByRole('button', { name: 'Save changes' }).click();
  await lena.locator('#notification').waitFor();
  assert.match(await lena.locator('#plans tbody tr', { hasText: 'Promenade Court' }).innerText(), /Sam Okafor/);
  await lena.locator('#plans tbody tr', { hasText: 'Promenade Court' }).getByRole('link').first().click();
  await checkA11y(lena, 'a planned visit');
  await checkLabels(lena, 'a planned visit');
  await lena.getByRole('button', { name: 'Cancel visit' }).click();
  await lena.locator('.error-summary').waitFor();
  await lena.getByLabel('Why is it cancelled?').fill('The home asked to move it after a flu outbreak');
  await lena.getByRole('button', { name: 'Cancel visit' }).click();
  await lena.locator('#notification').waitFor();
  assert.equal(await lena.locator('#plans tbody tr', { hasText: 'Promenade Court' }).count(), 0);

  // Sam sees the visit planned from the due list; a provider cannot reach the plan.
  const sam = await newPage(browser);
  await signIn(sam, 'monitor2');
  await sam.getByRole('link', { name: 'Your visits' }).click();
  assert.ok(await sam.locator('#plans tbody tr', { hasText: name }).count(), 'the monitor sees it');
  assert.equal(await sam.locator('#due-link').count(), 0);
  const coastal = await newPage(browser);
  await signIn(coastal, 'coastal');
  for (const path of ['/plan', '/plan/due']) {
    const r = await coastal.goto(`${BASE}${path}`);
    assert.ok([403, 404].includes(r.status()), `provider ${path}: ${r.status()}`);
  }
});

test('commissioners see every notice; everyone chooses their own', async () => {
  const chris = await newPage(browser);
  await signIn(chris, 'commissioner');
  await chris.goto(`${BASE}/notices`);
  await checkA11y(chris, 'email notices');
  await checkLabels(chris, 'email notices');
  assert.ok(await chris.locator('#smtp-missing').count(), 'says email is not set up on the demo');
  assert.ok(await chris.locator('#notices tbody tr', { hasText: 'planned for' }).count(), 'the plans wrote notices');
  await screenshot(chris, 'portal-notices');

  const mo = await newPage(browser);
  await signIn(mo, 'monitor1');
  await mo.locator('#your-account').click();
  await checkA11y(mo, 'your account');
  await checkLabels(mo, 'your account');
  const box = mo.getByLabel('A visit is planned for you, or moved');
  assert.ok(await box.isChecked());
  await box.uncheck();
  await mo.getByRole('button', { name: 'Save notice choices' }).click();
  await mo.locator('#notification').waitFor();
  assert.equal(await mo.getByLabel('A visit is planned for you, or moved').isChecked(), false);
  await screenshot(mo, 'portal-account');
});
