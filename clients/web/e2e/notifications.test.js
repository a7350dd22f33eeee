// Notifications in the browser, at a phone's size (390×844): a resident raises an issue, the
// official accepts it and dispatches it to the grid worker over the HTTP API, and the
// resident's stored inbox (我的通知) shows one row for the issue whose unread badge arrives
// live; opening the row opens the issue and marks it read, and the badge clears live in her
// second tab. Then the notification settings: a kind on a channel, quiet hours and the
// language are saved and still set after a reload. Both screens are checked with axe-core.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, signIn, apiAs, SCREENSHOTS } from './support.js';
import { axeCheck, PHONE } from './enrol-support.js';

/**
 * Waits until the server's inbox holds notifications about issue `id` (the worker writes them
 * a moment after the action) and `page`'s row shows the server's unread count for it; returns
 * the server's inbox and that count.
 */
async function settled(api, page, id, atLeast) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const inbox = await api.call('GET', '/api/me/notifications?limit=30');
    const unread = inbox.subjects.find((s) => s.subject.kind === 'issue' && s.subject.id === id)?.unread || 0;
    const shown = await row(page, id).getAttribute('data-unread', { timeout: 200 }).catch(() => null);
    if (unread >= atLeast && shown === String(unread)) return { inbox, unread };
    if (Date.now() > deadline) throw new Error(`the row of issue ${id} shows ${shown} unread, the server says ${unread}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs `act` and waits for the PATCH of the settings it makes to be answered. */
async function saving(page, act) {
  const answered = page.waitForResponse((r) => r.url().endsWith('/api/me/notify-prefs') && r.request().method() === 'PATCH');
  await act();
  const res = await answered;
  assert.ok(res.ok(), `the settings were saved: ${res.status()}`);
  await page.getByTestId('prefs-status').getByText('Saved').waitFor();
}

/** The resident's inbox row of issue `id`: its `data-unread` once it is `unread`. */
function row(page, id, unread) {
  const sel = `[data-testid="inbox-row-issue-${id}"]`;
  return page.locator(unread === undefined ? sel : `${sel}[data-unread="${unread}"]`);
}

test('the stored inbox groups by issue, its badge is live, reading it clears every tab; settings persist', async (t) => {
  const { base, browser } = await setup(t);
  const residentApi = await apiAs(base, 'resident');
  const me = residentApi.account.id;
  const resident = await signIn(browser, base, 'resident', PHONE.width, PHONE.height);

  // She raises an issue through the sheet (category, grid, building, words).
  await resident.getByTestId('raise-issue').click();
  await resident.getByTestId('raise-category').selectOption('clutter');
  await resident.getByTestId('raise-grid').selectOption({ label: 'Riverside grid 1' });
  await resident.getByTestId('raise-building').selectOption({ label: 'Riverside building 1' });
  await resident.getByTestId('raise-title').fill('Broken lamp over the bike shed');
  await resident.getByTestId('raise-description').fill('The lamp by the bike shed of building 1 has been dark for a week.');
  await resident.getByTestId('raise-submit').click();
  await resident.getByTestId('issue-page').waitFor();
  const id = Number((await resident.evaluate(() => location.hash)).split('/')[1]);
  assert.ok(id > 0, 'the issue page is open');

  // She waits on 我的通知, opened from the chat list; a second tab of hers does too.
  await resident.getByTestId('back').click();
  await resident.getByTestId(`chat-user:${me}`).click();
  await resident.getByTestId('inbox').waitFor();
  await resident.getByTestId('inbox-count').waitFor();
  const second = await signIn(browser, base, 'resident', PHONE.width, PHONE.height);
  await second.evaluate(() => (location.hash = '#inbox'));
  await second.getByTestId('inbox').waitFor();
  const before = await residentApi.call('GET', '/api/me/notifications?limit=30');
  const unreadBefore = before.subjects.find((s) => s.subject.kind === 'issue' && s.subject.id === id)?.unread || 0;

  // The official accepts it and dispatches it to the grid worker (HTTP API).
  const official = await apiAs(base, 'official');
  const worker = await apiAs(base, 'worker');
  await official.action(id, { kind: 'accept' });
  await official.action(id, { kind: 'dispatch', assignee: worker.account.id });

  // (a) One row for the issue, with an unread badge, live in both tabs; the server agrees.
  await row(resident, id).locator('[data-testid="row-unread"]').waitFor();
  const { inbox, unread } = await settled(residentApi, resident, id, unreadBefore + 1);
  const subject = { unread };
  assert.ok(inbox.notifications.filter((n) => n.subject.kind === 'issue' && n.subject.id === id).length >= unread - unreadBefore);
  await row(second, id, subject.unread).waitFor();
  assert.equal(await row(resident, id).count(), 1, 'one row for the issue, however many notifications');
  assert.equal(await row(resident, id).getByTestId('row-unread').innerText(), String(subject.unread));
  const newest = inbox.notifications.find((n) => n.subject.kind === 'issue' && n.subject.id === id);
  await row(resident, id).getByText(newest.title).waitFor();
  await resident.getByTestId('inbox-count').getByText(`${inbox.unread} unread`).waitFor();
  assert.equal(await second.title(), `(${inbox.unread}) 和合 Hehe`, 'the tab title counts the unread');
  await resident.screenshot({ path: `${SCREENSHOTS}/inbox-390.png` });
  await axeCheck(resident, 'the inbox');

  // (b) Opening the row opens the issue and marks it read: the other tab's badge clears live.
  await row(resident, id).click();
  await resident.getByTestId('issue-page').waitFor();
  assert.equal(await resident.evaluate(() => location.hash), `#issue/${id}`);
  await row(second, id, 0).waitFor();
  assert.equal(await row(second, id).getByTestId('row-unread').count(), 0, 'no badge left on the row');
  const after = await residentApi.call('GET', '/api/me/notifications?limit=30');
  assert.ok(!after.subjects.some((s) => s.subject.kind === 'issue' && s.subject.id === id), 'the server has the issue read');
  assert.equal(after.unread, inbox.unread - subject.unread);
  if (after.unread === 0) {
    await second.getByTestId('inbox-count').getByText('Nothing unread').waitFor();
    await second.waitForFunction(() => document.title === '和合 Hehe');
  }
  // Back in the list of the first tab, the row is there without a badge.
  await resident.getByTestId('back').click();
  await resident.getByTestId(`chat-user:${me}`).click();
  await row(resident, id, 0).waitFor();
  if (after.unread === 0) assert.equal(await resident.getByTestId(`chat-user:${me}`).getByTestId('unread').count(), 0, 'no badge on 我的通知');
  await second.context().close();

  // (c) Settings, from "Me": a kind on a channel, quiet hours and the language.
  await resident.getByTestId('back').click();
  await resident.getByTestId('open-account').click();
  await resident.getByTestId('open-notify-prefs').click();
  await resident.getByTestId('prefs-table').waitFor();
  const prefs = await residentApi.call('GET', '/api/me/notify-prefs');
  const was = prefs.choices.find((c) => c.kind === 'issue_update' && c.channel === 'push');
  assert.ok(was, 'issue_update on push is a choice');
  const lang = prefs.language === 'zh' ? 'en' : 'zh';
  const toggle = resident.getByTestId('pref-issue_update-push');
  assert.equal(await toggle.isChecked(), was.enabled, 'the table shows what the server has');
  // A channel the account cannot be reached on is shown disabled, with the reason.
  for (const [channel, has, why] of [['webhook', prefs.has_phone, 'why-webhook'], ['email', prefs.has_email, 'why-email']]) {
    assert.equal(await resident.getByTestId(`pref-issue_update-${channel}`).isDisabled(), !has, `${channel} is disabled exactly when unreachable`);
    assert.equal(await resident.getByTestId(why).count(), has ? 0 : 1, `the reason ${channel} is off is said`);
  }
  await saving(resident, () => toggle.click());
  await resident.getByTestId('quiet-on').check();
  await resident.getByTestId('quiet-start').fill('22:30');
  await resident.getByTestId('quiet-end').fill('06:45');
  await saving(resident, () => resident.getByTestId('quiet-save').click());
  await saving(resident, () => resident.getByTestId('prefs-language').selectOption(lang));
  await resident.screenshot({ path: `${SCREENSHOTS}/notify-prefs-390.png` });
  await axeCheck(resident, 'the notification settings');

  const saved = await residentApi.call('GET', '/api/me/notify-prefs');
  assert.equal(saved.choices.find((c) => c.kind === 'issue_update' && c.channel === 'push').enabled, !was.enabled);
  assert.deepEqual(saved.quiet_hours, { start: '22:30', end: '06:45' });
  assert.equal(saved.language, lang);

  // A reload (signed in again from the tab's tokens) shows the same.
  await resident.reload();
  await resident.getByTestId('prefs-table').waitFor();
  assert.equal(await resident.getByTestId('pref-issue_update-push').isChecked(), !was.enabled);
  assert.equal(await resident.getByTestId('quiet-on').isChecked(), true);
  assert.equal(await resident.getByTestId('quiet-start').inputValue(), '22:30');
  assert.equal(await resident.getByTestId('quiet-end').inputValue(), '06:45');
  assert.equal(await resident.getByTestId('prefs-language').inputValue(), lang);

  // Quiet hours off again, and still off after another reload.
  await resident.getByTestId('quiet-on').uncheck();
  await saving(resident, () => resident.getByTestId('quiet-save').click());
  assert.equal((await residentApi.call('GET', '/api/me/notify-prefs')).quiet_hours, null);
  await resident.reload();
  await resident.getByTestId('prefs-table').waitFor();
  assert.equal(await resident.getByTestId('quiet-on').isChecked(), false);
  assert.ok(await resident.getByTestId('quiet-start').isDisabled(), 'the times wait for quiet hours to be on');
});
