// A newer framework version on the server while a draft is open in the web app: the visit offers
// the move, previews what moves where and what is not carried over, moves, lists what was not
// carried, and shows its history; axe-core finds no serious problem on any of these screens.
// Tablet held upright. The visit's id goes to $ACCREDIT_RESULT for the Rust side to check.
import { writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { checkA11yFrame, newProfile, openTablet, shot, signIn, syncNow } from './webapp-lib.mjs';

const RESULT = process.env.ACCREDIT_RESULT;
if (!RESULT) throw new Error('ACCREDIT_RESULT must name the file for the visit id');
const REMOVED = 'safe.learning-culture.duty-of-candour';
const RENAMED_TO = 'safe.learning-culture.incident-recording';

const { context, page } = await openTablet(newProfile(), { width: 800, height: 1280 });
await signIn(page, 'monitor1');
const home = page.locator('[id^="location-"]', { hasText: 'Seaview House' });
await home.tap();
const before = await page.locator('[id^="continue-"]').evaluateAll((els) => els.map((e) => e.id));
await page.locator('#start-visit').tap();
await page.locator('#editor').waitFor();
// The first criterion (renamed in the new version) scores 3; the fourth (removed) scores 2.
await page.locator('.scores').nth(0).locator('button').nth(2).tap();
await page.locator('.scores').nth(3).locator('button').nth(1).tap();

const offer = page.locator('#move-offer');
await offer.waitFor();
assert.match(await offer.innerText(), /Version 2026\.2 of this framework is available/);
await checkA11yFrame(page, 'the move offer');
await page.locator('#preview-move').tap();
const preview = page.locator('#move-preview');
await preview.waitFor();
assert.match(await preview.innerText(), new RegExp(RENAMED_TO.replace(/\./g, '\\.')));
assert.match(await page.locator('#preview-not-carried').innerText(), new RegExp(REMOVED.replace(/\./g, '\\.')));
await checkA11yFrame(page, 'the move preview');
await preview.scrollIntoViewIfNeeded();
await shot(page, 'move-preview');

await page.locator('#move-draft').tap();
const notCarried = page.locator('#not-carried');
await notCarried.waitFor();
assert.match(await notCarried.innerText(), /the criterion is not in the new version/);
assert.equal(await offer.count(), 0, 'no offer once moved');
await checkA11yFrame(page, 'a moved draft');
await notCarried.scrollIntoViewIfNeeded();
await shot(page, 'moved');

await page.locator('#to-history').tap();
await page.locator('#history-moved-2').waitFor();
assert.match(await page.locator('#history-moved-2').innerText(), /From version 2026\.1 to 2026\.2/);
await checkA11yFrame(page, 'the history');
await shot(page, 'history');

const drafts = await (async () => {
  await page.locator('#back-to-visit').tap();
  await page.locator('#back').tap();
  return page.locator('[id^="continue-"]').evaluateAll((els) => els.map((e) => e.id));
})();
const mine = drafts.filter((id) => !before.includes(id));
assert.equal(mine.length, 1);
await syncNow(page);
writeFileSync(RESULT, mine[0].slice('continue-'.length));
await context.close();
console.log('pack move flow passed');
