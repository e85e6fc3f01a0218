// Two monitors score the same criterion differently while offline: Mo in the web app, Sam on
// the desktop app (driven by the Rust side of this test through files in $ACCREDIT_EXCHANGE).
// After both sync, the web app shows the conflict with both authors and blocks sign-off until
// Mo keeps one value with a reason.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { checkA11yFrame, newProfile, openTablet, shot, signIn, syncNow, waitForFile } from './webapp-lib.mjs';

const EX = process.env.ACCREDIT_EXCHANGE;
if (!EX) throw new Error('ACCREDIT_EXCHANGE must name the directory shared with the Rust side');

const { context, page } = await openTablet(newProfile());
await signIn(page, 'monitor1');
const lodge = page.locator('[id^="location-"]', { hasText: 'Stanley Park Lodge' });
await lodge.tap();
const before = await page.locator('[id^="continue-"]').evaluateAll((els) => els.map((e) => e.id));
await page.locator('#start-visit').tap();
await page.locator('#editor').waitFor();
const group = page.locator('.scores').first();
await group.locator('button').nth(2).tap(); // 3, Good
await page.locator('#back').tap();
const drafts = await page.locator('[id^="continue-"]').evaluateAll((els) => els.map((e) => e.id));
const mine = drafts.filter((id) => !before.includes(id));
assert.equal(mine.length, 1);
const visit = mine[0].slice('continue-'.length);
await syncNow(page);
writeFileSync(join(EX, 'visit'), visit);

// Out of signal, Mo changes the score to 4; Sam meanwhile makes it 2 and syncs.
await context.setOffline(true);
await page.locator('#nav-caseload').tap();
await lodge.tap();
await page.locator(`#continue-${visit}`).tap();
await page.locator('.scores').first().locator('button').nth(3).tap(); // 4, Excellent
await waitForFile(join(EX, 'desktop-edited'));
await context.setOffline(false);
await syncNow(page);
writeFileSync(join(EX, 'web-synced'), '');

await page.locator('#nav-caseload').tap();
await lodge.tap();
await page.locator(`#continue-${visit}`).tap();
const conflicts = page.locator('#conflicts');
await conflicts.waitFor();
const text = await page.locator('.conflict').first().innerText();
assert.match(text, /4\s+recorded by Mo Patel/);
assert.match(text, /2\s+recorded by Sam/);
await checkA11yFrame(page, 'a conflict');
await shot(page, 'conflict');

// Sign-off is blocked while the conflict stands.
await page.locator('#to-signoff').tap();
await page.locator('#mark-rest').tap();
await page.locator('#mark-rest-yes').tap();
await page.waitForTimeout(200);
const signOff = page.locator('#sign-off');
assert.ok(await signOff.count() === 0 || await signOff.isDisabled(), 'sign-off is blocked by the conflict');
await waitForFile(join(EX, 'desktop-saw'));

// Mo keeps 4, with a reason; nothing blocks sign-off any more.
await page.locator('#back').tap();
await page.locator('[id^="reason-"]').first().fill('Observed the call bell audit myself; Sam left before it.');
await page.getByRole('button', { name: 'Keep 4' }).first().tap();
await page.locator('#conflicts').waitFor({ state: 'detached' });
await page.locator('#to-signoff').tap();
await page.locator('#sign-off').waitFor();
assert.ok(await page.locator('#sign-off').isEnabled(), 'sign-off is possible once resolved');
await page.locator('#sign-off').tap();
await page.locator('#read-only').waitFor();
await syncNow(page);
writeFileSync(join(EX, 'resolved'), '');
await context.close();
console.log('conflict flow passed');
