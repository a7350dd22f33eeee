// The issue loop in two browsers: a resident raises an issue with a photo; the official accepts
// and dispatches it over the HTTP API (the test's own calls, see README); the grid worker sees it
// arrive live, acknowledges it, posts progress with a photo and completes it; the resident sees
// every step live and rates it. On the way, each issue page must show the buttons of the
// server's `allowed_actions` for its reader, no more and no fewer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, signIn, apiAs, pngFile, SCREENSHOTS } from './support.js';

/** The issue page's buttons for each action kind the server may allow; other kinds have none. */
const BUTTONS = {
  acknowledge: ['act-acknowledge'],
  post_update: ['act-progress'],
  complete: ['act-complete'],
  return: ['act-return'],
  escalate: ['act-escalate'],
  accept: ['act-accept'],
  reject: ['act-reject'],
  dispatch: ['act-dispatch'],
  verify_ok: ['act-verify_ok'],
  verify_fail: ['act-verify_fail'],
  rate: ['act-rate', 'act-reopen'],
  withdraw: ['act-withdraw'],
  follow: ['act-follow'],
};

/**
 * Waits (5 s at most) until the issue page in `page` shows exactly the buttons of what the
 * server allows `who` now, then checks it; returns the server's `allowed_actions`.
 */
async function buttonsAsAllowed(page, who, id) {
  const { issue } = await who.call('GET', `/api/issues/${id}`);
  const want = issue.allowed_actions.flatMap((kind) => BUTTONS[kind] || []).sort();
  const shown = () => page.locator('[data-testid="issue-actions"] button').evaluateAll((els) => els.map((e) => e.dataset.testid).sort());
  await page
    .waitForFunction(
      (w) => JSON.stringify([...document.querySelectorAll('[data-testid="issue-actions"] button')].map((e) => e.dataset.testid).sort()) === w,
      JSON.stringify(want),
      { timeout: 5000 },
    )
    .catch(() => {});
  assert.deepEqual(await shown(), want, `${who.account.username}'s buttons are the server's ${issue.allowed_actions}`);
  return issue.allowed_actions;
}

/** `page` shows none of these buttons. */
async function noButtons(page, ...testids) {
  for (const testid of testids) assert.equal(await page.getByTestId(testid).count(), 0, `no ${testid} button`);
}

test('a resident raises an issue, the grid worker handles it live, the resident rates it', async (t) => {
  const { base, browser } = await setup(t);
  const resident = await signIn(browser, base, 'resident');
  const worker = await signIn(browser, base, 'worker');

  // The worker waits in the grid worker inbox.
  await worker.getByTestId('chat-worker').click();
  await worker.getByTestId('worker-list').waitFor();

  // The resident raises it: category, then the building through the picker (her community's
  // grids, then the grid's buildings: Riverside grid 1, building 1), text, photo.
  await resident.getByTestId('raise-issue').click();
  await resident.getByTestId('raise-category').selectOption('clutter');
  await resident.getByTestId('raise-grid').waitFor();
  const grids = await resident.getByTestId('raise-grid').locator('option').allInnerTexts();
  assert.deepEqual(grids, ['Choose a grid', 'Riverside grid 1', 'Riverside grid 2']);
  await resident.getByTestId('raise-grid').selectOption({ label: 'Riverside grid 1' });
  await resident.getByTestId('raise-building').waitFor();
  const buildings = await resident.getByTestId('raise-building').locator('option').allInnerTexts();
  assert.deepEqual(buildings, ['Riverside grid 1 (the whole grid)', 'Riverside building 1', 'Riverside building 2']);
  await resident.getByTestId('raise-building').selectOption({ label: 'Riverside building 1' });
  await resident.getByTestId('raise-title').fill('Bikes block the stairwell of building 1');
  await resident.getByTestId('raise-description').fill('Old bikes and boxes on floors 1 to 3 block the fire escape.');
  await resident.getByTestId('raise-photo').setInputFiles(pngFile('stairwell.png', [200, 60, 60]));
  assert.ok(!/\bnull\b|undefined/.test(await resident.getByRole('dialog').innerText()), 'the sheet shows no stray null');
  await resident.screenshot({ path: `${SCREENSHOTS}/raise-picker-375.png` });
  await resident.getByTestId('raise-submit').click();
  await resident.getByTestId('issue-page').waitFor();
  await resident.locator('[data-testid="issue-state"][data-state="submitted"]').waitFor();
  await resident.getByTestId('photo-before').waitFor();
  const id = Number((await resident.evaluate(() => location.hash)).split('/')[1]);
  assert.ok(id > 0, 'the issue page is open');
  await resident.getByTestId('issue-place').getByText('Riverside building 1').waitFor();

  // Her buttons are what the server allows her: she may withdraw her report, not accept it.
  const residentApi = await apiAs(base, 'resident');
  await resident.getByTestId('act-withdraw').waitFor();
  assert.ok((await buttonsAsAllowed(resident, residentApi, id)).includes('withdraw'));
  await noButtons(resident, 'act-accept', 'act-reject', 'act-dispatch', 'act-rate');

  // The community official's page of the same issue: accept or reject, not rate or withdraw.
  const official = await apiAs(base, 'official');
  const desk = await signIn(browser, base, 'official');
  await desk.evaluate((n) => (location.hash = `#issue/${n}`), id);
  await desk.getByTestId('act-accept').waitFor();
  await desk.getByTestId('act-reject').waitFor();
  await buttonsAsAllowed(desk, official, id);
  await noButtons(desk, 'act-rate', 'act-reopen', 'act-withdraw', 'act-acknowledge');

  // The official accepts and dispatches it to the worker (HTTP API). The event carries no
  // allowed_actions: both pages read the issue again, and their buttons follow.
  const workerAccount = (await apiAs(base, 'worker')).account;
  await official.action(id, { kind: 'accept' });
  await resident.locator('[data-testid="issue-state"][data-state="accepted"]').waitFor();
  await desk.locator('[data-testid="issue-state"][data-state="accepted"]').waitFor();
  await desk.getByTestId('act-dispatch').waitFor();
  await buttonsAsAllowed(desk, official, id);
  await noButtons(desk, 'act-accept');
  await buttonsAsAllowed(resident, residentApi, id);
  await desk.context().close();
  await official.action(id, { kind: 'dispatch', assignee: workerAccount.id });
  await resident.locator('[data-testid="issue-state"][data-state="dispatched"]').waitFor();

  // It arrives live in the worker's inbox: one tap acknowledges it.
  await worker.getByTestId(`ack-${id}`).click();
  await resident.locator('[data-testid="issue-state"][data-state="in_progress"]').waitFor();

  // The resident's app goes offline (the SDK's close) while the worker reports progress; back
  // online, the SDK resumes issue:<id> from its position and the page catches up.
  await resident.evaluate(() => globalThis.hehe.client.close());
  await resident.locator('[data-testid="main"] [data-testid="conn"][data-state="closed"]').waitFor();

  // Progress with a photo of the work, then completion.
  await worker.getByTestId(`issue-card-${id}`).click();
  await worker.getByTestId('act-progress').click();
  await worker.getByTestId('progress-text').fill('Cleared floors 1 and 2; the rest tomorrow morning.');
  await worker.getByTestId('progress-photo').setInputFiles(pngFile('cleared.png', [60, 160, 60]));
  await worker.getByTestId('progress-submit').click();
  await worker.getByTestId('photo-after').waitFor();
  await resident.evaluate(() => globalThis.hehe.client.connect());
  await resident.getByTestId('photo-after').waitFor();
  await resident.getByText('Cleared floors 1 and 2; the rest tomorrow morning.').waitFor();
  await worker.getByTestId('act-complete').click();
  await resident.locator('[data-testid="issue-state"][data-state="awaiting_rating"]').waitFor();
  assert.ok((await buttonsAsAllowed(resident, residentApi, id)).includes('rate'));
  await noButtons(resident, 'act-withdraw');
  await resident.screenshot({ path: `${SCREENSHOTS}/issue-375.png` });

  // The resident rates it: closed as fixed.
  await resident.getByTestId('act-rate').click();
  await resident.getByTestId('star-4').click();
  await resident.getByTestId('rate-comment').fill('Much better, thank you.');
  await resident.getByTestId('rate-submit').click();
  await resident.locator('[data-testid="issue-state"][data-state="closed"]').waitFor();
  await worker.locator('[data-testid="issue-state"][data-state="closed"]').waitFor();
  const kinds = await resident.locator('[data-testid="timeline"] li').evaluateAll((els) => els.map((e) => e.dataset.kind));
  for (const kind of ['submitted', 'photo', 'accepted', 'dispatched', 'acknowledged', 'update', 'completed', 'rated']) {
    assert.ok(kinds.includes(kind), `the timeline shows ${kind}: ${kinds}`);
  }
});
