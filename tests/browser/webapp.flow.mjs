// The field web app in Debian's Chromium as a tablet (touch, device scale factor 2), against the
// real server: sign in online; offline from then on, the app starts from its service worker and
// a visit is recorded by tapping, typing and a camera photo (with GPS); the browser is killed
// hard and relaunched on the same profile, and everything is there; back online it syncs.
// Writes what it recorded to $ACCREDIT_RESULT for the Rust side to check at the server.
import { writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import {
  BASE, checkA11yFrame, killHard, newProfile, openTablet, planVisitFor, shot as shotAs, syncNow,
  touchDraw,
} from './webapp-lib.mjs';

const PHOTO = process.env.ACCREDIT_PHOTO;
const RESULT = process.env.ACCREDIT_RESULT;
const ORIENTATION = process.env.ACCREDIT_ORIENTATION || 'landscape';
if (!BASE || !PHOTO || !RESULT) throw new Error('ACCREDIT_URL, ACCREDIT_PHOTO and ACCREDIT_RESULT are needed');
const viewport = ORIENTATION === 'portrait' ? { width: 800, height: 1280 } : { width: 1280, height: 800 };
const profile = newProfile();
const open = () => openTablet(profile, viewport);
const shot = (page, name) => shotAs(page, `${name}-${ORIENTATION}`);

// A lead has planned a visit for this monitor: the tablet lists it first.
const plannedAt = await planVisitFor('monitor1');

let { context, page } = await open();
await page.goto(`${BASE}/app/`);
await page.locator('#username').waitFor();
await checkA11yFrame(page, 'the sign-in screen');
await shot(page, 'sign-in');
await page.locator('#username').fill('monitor1');
await page.locator('#password').fill('accredit-demo');
await page.locator('#sign-in').tap();
await page.locator('#caseload').waitFor({ timeout: 30000 });
// The service worker has the app's files before the signal goes.
await page.evaluate(async () => { await navigator.serviceWorker.ready; });

// A second tab of the app is refused before it touches anything.
const second = await context.newPage();
await second.goto(`${BASE}/app/`);
await second.getByText('already open in another tab').waitFor({ timeout: 20000 });
await second.close();

// Out of signal from here on.
await context.setOffline(true);
await page.reload();
await page.locator('#caseload').waitFor({ timeout: 30000 });
await checkA11yFrame(page, 'the caseload');
await shot(page, 'caseload');
const first = page.locator('[id^="location-"]').first();
assert.equal(await first.getAttribute('id'), `location-${plannedAt}`, 'the planned visit comes first');
assert.match(await first.innerText(), /Planned: Follow-up visit on/);
const locationId = (await first.getAttribute('id')).slice('location-'.length);
await first.tap();
await page.locator('#start-visit').waitFor();
await page.locator('#start-planned-visit').waitFor();
await checkA11yFrame(page, 'a location');
await shot(page, 'location-with-a-planned-visit');
// Drafts already here (another run's, synced down): the new visit is the one not among them.
const before = await page.locator('[id^="continue-"]').evaluateAll((els) => els.map((e) => e.id));
await page.locator('#start-visit').tap();
await page.locator('#editor').waitFor();

// Score the first domain's criteria by tapping: Good, then Outstanding, then Requires improvement...
const groups = page.locator('.scores');
const n = Math.min(await groups.count(), 6);
const scored = {};
for (let i = 0; i < n; i++) {
  const buttons = groups.nth(i).locator('button');
  const choice = buttons.nth(i % 4);
  await choice.tap();
  await assert.doesNotReject(() => page.waitForFunction(
    ([g, c]) => document.querySelectorAll('.scores')[g].querySelectorAll('button')[c].getAttribute('aria-pressed') === 'true',
    [i, i % 4]));
  const id = await choice.getAttribute('id');
  scored[id] = true;
}
// Notes typed fast, as monitors do.
const firstToggle = page.locator('[id^="notes-toggle-"]').first();
await firstToggle.tap();
const notes = page.locator('details.notes textarea').first();
const typed = 'Residents said staff knock and wait; call bells answered within two minutes on the day.';
await notes.pressSequentially(typed, { delay: 5 });
await page.waitForTimeout(300);
await checkA11yFrame(page, 'the visit editor');
await shot(page, 'visit');

// A photo from the camera, carrying GPS.
await page.locator('#photo-caption').fill('Lounge call bell');
await page.locator('#photo-file').setInputFiles(PHOTO);
await page.locator('#photos img').first().waitFor({ timeout: 30000 });

// The photo marked up by finger: an arrow dragged, a label placed by a tap and typed.
await page.locator('[id^="mark-up-"]').first().tap();
await page.locator('#markup-surface').waitFor();
await page.locator('#tool-Arrow').check();
await touchDraw(page, '#markup-surface', [[60, 60], [100, 110], [160, 170], [200, 220]]);
await page.locator('#marks li').first().waitFor();
await page.locator('#tool-Label').check();
await touchDraw(page, '#markup-surface', [[260, 80]]);
await page.locator('#label-text').fill('Call bell out of reach');
await page.locator('#label-add').tap();
await page.locator('#marks li').nth(1).waitFor();
const marks = await page.locator('#marks li').allInnerTexts();
assert.match(marks[0], /^Arrow at \d+, \d+, by Mo Patel/);
assert.match(marks[1], /^Label “Call bell out of reach”/);
await checkA11yFrame(page, 'marking up a photo');
await shot(page, 'photo-marked-up');
await page.locator('#back').tap();
await page.locator('#editor').waitFor();
assert.match(await page.locator('#photos').innerText(), /2 marks/);

// An action with a due date.
await page.locator('#action-description').fill('Review night staffing rota');
await page.locator('#action-due-day').fill('15');
await page.locator('#action-due-month').fill('1');
await page.locator('#action-due-year').fill('2027');
await page.locator('#add-action').tap();
await page.locator('#actions li, #actions tr').first().waitFor();
const visitUrlState = await page.evaluate(() => document.body.innerText.includes('Review night staffing rota'));
assert.ok(visitUrlState, 'the action shows');

// The browser dies without warning; it comes back, still offline.
killHard(profile);
await context.close().catch(() => {});
({ context, page } = await open());
await context.setOffline(true);
await page.goto(`${BASE}/app/`);
await page.locator('#caseload').waitFor({ timeout: 30000 });
await page.locator(`#location-${locationId}`).tap();
await page.locator('[id^="continue-"]').first().waitFor();
const drafts = await page.locator('[id^="continue-"]').evaluateAll((els) => els.map((e) => e.id));
const fresh = drafts.filter((id) => !before.includes(id));
assert.equal(fresh.length, 1, `one new draft after the kill: ${drafts}`);
const cont = page.locator(`#${fresh[0]}`);
const visitId = fresh[0].slice('continue-'.length);
assert.match(await cont.innerText(), new RegExp(`\\(${n} of \\d+ answered\\)`));
await cont.tap();
await page.locator('#editor').waitFor();
for (const id of Object.keys(scored)) {
  assert.equal(await page.locator(`#${id}`).getAttribute('aria-pressed'), 'true', `${id} survived the kill`);
}
assert.equal(await page.locator('details.notes textarea').first().inputValue(), typed);
assert.equal(await page.locator('#photos img').count(), 1, 'the photo survived the kill');
assert.ok(await page.evaluate(() => document.body.innerText.includes('Review night staffing rota')), 'the action survived the kill');

// Signing out now would lose the visit: refused, saying what has not reached the server.
await page.locator('#sign-out').tap();
await page.getByText('You cannot sign out yet').waitFor();
assert.ok(await page.evaluate(() => document.body.innerText.includes('not reached the server')));
await page.locator('#nav-caseload').tap();
await page.locator(`#location-${locationId}`).tap();
await page.locator(`#continue-${visitId}`).tap();
await page.locator('#editor').waitFor();

// Signed off on the tablet, still offline: the criteria not looked at are marked so.
await page.locator('#to-signoff').tap();
await page.locator('#mark-rest').tap();
await page.locator('#mark-rest-yes').tap();
// The manager and the monitor each sign with a finger on the pad.
await page.locator('#manager-sig-name').fill('Mary Manager');
await touchDraw(page, '#manager-sig-pad-surface', [[30, 150], [60, 60], [90, 140], [130, 50], [170, 150]]);
await touchDraw(page, '#manager-sig-pad-surface', [[200, 100], [260, 100]]);
assert.equal(await page.locator('#manager-sig-pad-count').innerText(), '2 strokes drawn');
await page.locator('#manager-sig-add').tap();
await page.locator('.signature-shown').first().waitFor();
// Without drawing or ticking "typed name only", the monitor is told where the problem is.
await page.locator('#monitor-sig-add').tap();
await page.locator('#monitor-sig-pad-error').waitFor();
// The app takes the reader to the error summary first; then back down to sign.
await page.waitForTimeout(500);
await touchDraw(page, '#monitor-sig-pad-surface', [[40, 120], [90, 80], [140, 130], [220, 70]]);
await page.locator('#monitor-sig-add').tap();
await page.locator('.signature-shown').nth(1).waitFor();
assert.match(await page.locator('#signatures').innerText(), /Mary Manager, Registered manager[\s\S]*Mo Patel, Quality monitor/);
await checkA11yFrame(page, 'the sign-off');
await page.locator('#signatures-title').scrollIntoViewIfNeeded();
await page.evaluate(() => document.querySelector('#signatures-title').scrollIntoView());
await shot(page, 'signatures');
await page.locator('#sign-off').tap();
await page.locator('#read-only').waitFor().catch(async (e) => {
  console.log(await page.evaluate(() => document.body.innerText));
  throw e;
});
await shot(page, 'signed-off');

// Back in signal: the app syncs on its own (the online event), or at once on request.
await context.setOffline(false);
await syncNow(page);
await page.locator('#storage-persisted').waitFor();
await checkA11yFrame(page, 'the sync centre');
await shot(page, 'sync-centre');

// Everything has reached the server: sign-out is allowed and leaves nothing of the monitor's.
await page.locator('#sign-out').tap();
await page.getByText('Nothing of yours is left on this device').waitFor();
await page.reload();
await page.locator('#username').waitFor();
assert.equal(await page.locator('#caseload').count(), 0);

writeFileSync(RESULT, JSON.stringify({ visit: visitId, location: locationId, scored: Object.keys(scored), notes: typed }));
await context.close();
console.log('web app flow passed');
