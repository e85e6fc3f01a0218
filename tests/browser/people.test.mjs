// A commissioner adds a monitor and gives them a caseload; the monitor signs in with the
// one-time password and must choose their own (a common one is refused); the commissioner signs
// them out everywhere and disables them, which ends their session at once. Leads and providers
// cannot reach the people pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, signIn, checkA11y, checkLabels, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signInWith(page, username, password) {
  await page.goto(`${BASE}/sign-in`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a commissioner adds a monitor with a caseload, who must replace the one-time password', async () => {
  const chris = await newPage(browser);
  await signIn(chris, 'commissioner');
  await chris.getByRole('link', { name: 'People', exact: true }).click();
  await checkA11y(chris, 'people list');
  await chris.getByRole('link', { name: 'Add a person' }).click();

  // Nothing filled in: the error summary links to each field.
  await chris.getByRole('button', { name: 'Add person' }).click();
  const summary = chris.locator('.error-summary');
  await summary.waitFor();
  for (const text of ['Enter a username', "Enter the person's name", 'Choose a role', 'Enter an email address, for notices']) {
    assert.ok(await summary.getByRole('link', { name: text }).count(), `summary says ${text}`);
  }
  assert.match(await chris.title(), /^Error: /);
  await checkA11y(chris, 'add a person, with errors');
  await checkLabels(chris, 'add a person');
  await screenshot(chris, 'portal-add-person-errors');

  await chris.getByLabel('Username').fill('nadia.k');
  await chris.getByLabel('Full name').fill('Nadia Khan');
  await chris.getByLabel('Email address').fill('nadia.khan@example.gov.uk');
  await chris.getByLabel('Role').selectOption({ label: 'Quality monitor' });
  await chris.getByRole('button', { name: 'Add person' }).click();
  const oneTime = (await chris.locator('#one-time-password').innerText()).trim();
  assert.match(oneTime, /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
  await screenshot(chris, 'portal-one-time-password');
  await chris.getByRole('link', { name: "Go to Nadia Khan's page" }).click();
  assert.equal((await chris.locator('#person-status').innerText()).trim(), 'Waiting for first sign-in');
  await checkA11y(chris, 'person page');
  await checkLabels(chris, 'person page');

  // The caseload: search, tick, save.
  await chris.locator('#caseload-link').click();
  await chris.getByLabel('Find locations to add').fill('Bispham');
  await chris.getByRole('button', { name: 'Search' }).click();
  await chris.getByLabel(/Bispham Gardens/).check();
  await chris.getByRole('button', { name: 'Save caseload' }).click();
  assert.match(await chris.locator('#notification').innerText(), /1 added, 0 removed/);
  assert.ok(await chris.getByLabel(/Bispham Gardens/).isChecked());
  await checkA11y(chris, 'caseload');
  await checkLabels(chris, 'caseload');
  await screenshot(chris, 'portal-caseload');

  // The same caseload from the location's side: Nadia is ticked; Sam is added there.
  await chris.goto(`${BASE}/locations`);
  await chris.getByRole('link', { name: 'Bispham Gardens', exact: true }).click();
  await chris.locator('#monitors-link').click();
  assert.ok(await chris.getByLabel('Nadia Khan').isChecked());
  await chris.getByLabel('Sam Okafor').check();
  await chris.getByRole('button', { name: 'Save' }).click();
  await chris.locator('#notification').waitFor();
  assert.ok(await chris.getByLabel('Sam Okafor').isChecked());
  await checkA11y(chris, 'monitors of a location');
  await checkLabels(chris, 'monitors of a location');

  // Nadia signs in with the one-time password and is sent to choose her own.
  const nadia = await newPage(browser);
  await signInWith(nadia, 'nadia.k', oneTime);
  await nadia.waitForURL((u) => u.pathname === '/account/password');
  await nadia.goto(`${BASE}/locations`);
  assert.equal(new URL(nadia.url()).pathname, '/account/password', 'nothing else opens first');
  await nadia.getByLabel('One-time password').fill(oneTime);
  await nadia.getByLabel('New password', { exact: true }).fill('qwertyuiopasdfgh');
  await nadia.getByLabel('Type the new password again').fill('qwertyuiopasdfgh');
  await nadia.getByRole('button', { name: 'Save password' }).click();
  await nadia.locator('.error-summary').waitFor();
  assert.match(await nadia.locator('.error-summary').innerText(), /too common/);
  await checkA11y(nadia, 'choose a password, with errors');
  await checkLabels(nadia, 'choose a password');
  await screenshot(nadia, 'portal-choose-password');
  await nadia.getByLabel('One-time password').fill(oneTime);
  await nadia.getByLabel('New password', { exact: true }).fill('harbour lantern biscuit');
  await nadia.getByLabel('Type the new password again').fill('harbour lantern biscuit');
  await nadia.getByRole('button', { name: 'Save password' }).click();
  await nadia.waitForURL((u) => !['/account/password', '/sign-in'].includes(u.pathname));
  await nadia.goto(`${BASE}/locations`);
  assert.ok(await nadia.getByRole('link', { name: 'Bispham Gardens', exact: true }).count(), 'her caseload shows');

  // The one-time password no longer works.
  const again = await newPage(browser);
  await signInWith(again, 'nadia.k', oneTime);
  await again.locator('.error-summary').waitFor();

  // Her devices show on her page; signing her out everywhere ends her browser session.
  await chris.goto(`${BASE}/people`);
  await chris.getByRole('link', { name: 'Nadia Khan' }).click();
  assert.equal((await chris.locator('#person-status').innerText()).trim(), 'Active');
  assert.equal(await chris.locator('#devices tbody tr').count(), 1);
  await chris.locator('#sign-out-everywhere').click();
  assert.match(await chris.locator('#notification').innerText(), /1 session ended/);
  await nadia.goto(`${BASE}/locations`);
  assert.equal(new URL(nadia.url()).pathname, '/sign-in', 'signed out everywhere');

  // Disabled: she cannot sign in again.
  await signInWith(nadia, 'nadia.k', 'harbour lantern biscuit');
  await nadia.waitForURL((u) => !['/account/password', '/sign-in'].includes(u.pathname));
  await chris.locator('#disable').click();
  await chris.getByRole('button', { name: 'Disable account' }).click();
  await chris.waitForURL((u) => u.pathname === '/people');
  await nadia.goto(`${BASE}/locations`);
  assert.equal(new URL(nadia.url()).pathname, '/sign-in', 'a disabled account is signed out at once');
  await signInWith(nadia, 'nadia.k', 'harbour lantern biscuit');
  await nadia.locator('.error-summary').waitFor();
});

test('leads and providers cannot reach the people pages', async () => {
  for (const who of ['lead', 'coastal', 'monitor1']) {
    const page = await newPage(browser);
    await signIn(page, who);
    for (const path of ['/people', '/people/new']) {
      const r = await page.goto(`${BASE}${path}`);
      assert.ok([403, 404].includes(r.status()), `${who} ${path} gave ${r.status()}`);
    }
    assert.equal(await page.getByRole('link', { name: 'People', exact: true }).count(), 0);
    await page.context().close();
  }
});
