// Residents and dispatching, end to end at a phone's size (390×844): a resident signs up with
// the code the SMS provider received (a local HTTP receiver the server's HEHE_SMS_URL points
// at) and waits; the community official sees the sign-up arrive live in the console and
// approves it; the resident's screen turns into her chats live. An official dispatches an
// issue by picking the grid worker by name. Each screen is checked with axe-core (WCAG 2.1 AA).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, signIn, apiAs, SCREENSHOTS } from './support.js';
import { axeCheck, smsReceiver, visitor, PHONE } from './enrol-support.js';

test('a resident signs up with an SMS code and is approved live by the official', async (t) => {
  const sms = await smsReceiver(t);
  const { base, browser } = await setup(t, { HEHE_SMS_URL: sms.url, HEHE_SMS_KEY: 'e2e-key' });

  // The official waits on the sign-ups of the console.
  const official = await signIn(browser, base, 'official', PHONE.width, PHONE.height);
  await official.getByTestId('open-admin').click();
  await official.getByTestId('admin-tab-requests').click();
  await official.getByTestId('requests-none').waitFor();
  await axeCheck(official, 'the sign-ups tab');
  // An admin, who has no home chat, follows the communities' channels from the console.
  const admin = await signIn(browser, base, 'admin', PHONE.width, PHONE.height);
  await admin.getByTestId('open-admin').click();
  await admin.getByTestId('admin-tab-requests').click();
  await admin.locator('[data-testid="requests-live"][data-live="true"]').waitFor();

  // The resident opens the sign-up page and picks Riverside building 2 (id 5) level by level,
  // each select labelled by the kind of place it lists, read without a token.
  const phone = '139 1234 5678';
  const resident = await visitor(browser, base, '#signup', 'en-GB', 'newcomer');
  await resident.getByTestId('signup').waitFor();
  await resident.getByLabel('Street', { exact: true }).selectOption({ label: 'Hehe Street' });
  await resident.getByLabel('Community', { exact: true }).selectOption({ label: 'Riverside' });
  await resident.getByLabel('Grid', { exact: true }).selectOption({ label: 'Riverside grid 1' });
  const building = resident.getByLabel('Building', { exact: true });
  await building.locator('option', { hasText: 'Riverside building 2' }).waitFor({ state: 'attached' });
  assert.deepEqual(await building.locator('option').allInnerTexts(), ['Choose', 'Riverside building 1', 'Riverside building 2']);
  await building.selectOption({ label: 'Riverside building 2' });
  // Another community empties the levels under it; coming back lists them again.
  await resident.getByLabel('Community', { exact: true }).selectOption({ label: 'Orchard' });
  assert.equal(await building.count(), 0, 'the buildings of Riverside are gone');
  await resident.getByLabel('Community', { exact: true }).selectOption({ label: 'Riverside' });
  await resident.getByLabel('Grid', { exact: true }).selectOption({ label: 'Riverside grid 1' });
  await building.selectOption({ label: 'Riverside building 2' });
  await resident.getByTestId('signup-phone').fill(phone);
  const asked = Date.now();
  await resident.getByTestId('signup-send-code').click();
  // The button counts down until a code may be sent again.
  await resident.getByTestId('signup-send-code').filter({ hasText: /^Again in \d+s$/ }).waitFor();
  assert.ok(await resident.getByTestId('signup-send-code').isDisabled(), 'no second code before the countdown ends');
  await resident.getByTestId('signup-sms-status').getByText(/Code sent; it is valid for \d+ minutes/).waitFor();
  const code = await sms.codeFor(phone, asked);
  await resident.getByTestId('signup-code').fill(code);
  await resident.getByTestId('signup-password').fill('orchard-lane-5');
  await resident.getByTestId('signup-name').fill('Xu Jing 徐静');
  await axeCheck(resident, 'the filled sign-up form');
  await resident.getByTestId('signup-submit').click();
  await resident.locator('[data-testid="pending-state"][data-state="pending"]').waitFor();
  await axeCheck(resident, 'the waiting screen');
  await resident.screenshot({ path: `${SCREENSHOTS}/signup-pending-390.png` });

  // The request arrives on the official's screen without a reload.
  const row = official.locator('[data-testid^="request-"]', { hasText: 'Xu Jing' });
  await row.waitFor();
  assert.match(await row.innerText(), /Riverside building 2/, 'the building picked through the selects');
  assert.ok(!(await row.innerText()).includes('12345678'), 'the phone number is masked');
  await admin.locator('[data-testid^="request-"]', { hasText: 'Xu Jing' }).waitFor();
  await axeCheck(official, 'a pending sign-up');
  await official.screenshot({ path: `${SCREENSHOTS}/admin-requests-390.png` });
  await row.getByRole('button', { name: 'Approve' }).click();
  await official.getByTestId('requests-none').waitFor();

  // Approved: the resident's screen becomes her chats, live, with her community's home.
  await resident.getByTestId('chat-list').waitFor();
  await resident.getByTestId('chat-home:2').waitFor();
  // She signs in with her phone number next time.
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: phone, password: 'orchard-lane-5' }) });
  assert.equal(login.status, 200, 'the phone number signs in');
});

test('a resident refused with a reason sees it; "forgot password" by SMS code', async (t) => {
  const sms = await smsReceiver(t);
  const { base, browser } = await setup(t, { HEHE_SMS_URL: sms.url, HEHE_SMS_KEY: 'e2e-key' });
  const phone = '13700001111';
  // A building's poster link (Riverside building 1, id 4) chooses the building by itself.
  const resident = await visitor(browser, base, '#signup/4', 'en-GB', 'applicant');
  assert.equal(await resident.getByTestId('signup-building-preset').getAttribute('data-id'), '4');
  assert.equal(await resident.getByTestId('signup-place-0').count(), 0, 'no selects while the link chose');
  await resident.getByTestId('signup-phone').fill(phone);
  let asked = Date.now();
  await resident.getByTestId('signup-send-code').click();
  await resident.getByTestId('signup-code').fill(await sms.codeFor(phone, asked));
  await resident.getByTestId('signup-password').fill('first-pass-1');
  await resident.getByTestId('signup-name').fill('Ma Li 马丽');
  await axeCheck(resident, 'the sign-up form chosen by a building link');
  await resident.getByTestId('signup-submit').click();
  await resident.locator('[data-testid="pending-state"][data-state="pending"]').waitFor();

  const official = await signIn(browser, base, 'official', PHONE.width, PHONE.height);
  await official.getByTestId('open-admin').click();
  await official.getByTestId('admin-tab-requests').click();
  const row = official.locator('[data-testid^="request-"]', { hasText: 'Ma Li' });
  await row.getByText(/Riverside building 1/).waitFor();
  await row.getByRole('button', { name: 'Refuse' }).click();
  await row.getByLabel('Why (the applicant is told)').fill('Nobody of that name lives in building 1.');
  await row.getByRole('button', { name: 'Refuse' }).last().click();
  await resident.locator('[data-testid="pending-state"][data-state="refused"]').getByText('Nobody of that name lives in building 1.').waitFor();

  // She forgot her password: an SMS code to her phone and a new one.
  const page = await visitor(browser, base, '#forgot', 'en-GB', 'forgot');
  await page.getByTestId('forgot-who').fill(phone);
  asked = Date.now();
  await page.getByTestId('forgot-send-code').click();
  await page.getByTestId('forgot-code').fill(await sms.codeFor(phone, asked));
  await page.getByTestId('forgot-password').fill('second-pass-2');
  await page.getByTestId('forgot-submit').click();
  await page.getByTestId('forgot-done').getByText(/password is reset/).waitFor();
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: phone, password: 'second-pass-2' }) });
  assert.equal(login.status, 200, 'the new password signs in');
});

test('an official dispatches an issue by picking the grid worker by name', async (t) => {
  const { base, browser } = await setup(t);
  const resident = await apiAs(base, 'resident');
  const official = await apiAs(base, 'official');
  const worker = (await apiAs(base, 'worker')).account;
  const issue = await resident.call('POST', '/api/issues', { request_id: 'dispatch-1', issue: { category: 'drainage', title: 'Drain by building 1 overflows', description: 'Since Monday.', place_id: 4 } });
  await official.action(issue.id, { kind: 'accept' });

  const desk = await signIn(browser, base, 'official', PHONE.width, PHONE.height);
  await desk.evaluate((n) => (location.hash = `#issue/${n}`), issue.id);
  await desk.getByTestId('act-dispatch').click();
  const pick = desk.getByRole('radio', { name: /Chen Jie/ });
  await pick.waitFor();
  // Named, with the role, the place and how many open issues the worker holds.
  const row = desk.getByTestId(`staff-${worker.id}`);
  assert.match(await row.innerText(), /Grid worker · Riverside grid 1/);
  assert.match(await row.getByTestId('staff-load').innerText(), /^\d+ open$/);
  await axeCheck(desk, 'the dispatch picker', '[role="dialog"]');
  await desk.screenshot({ path: `${SCREENSHOTS}/dispatch-390.png` });
  await pick.check();
  await desk.getByTestId('sheet-submit').click();
  await desk.locator('[data-testid="issue-state"][data-state="dispatched"]').waitFor();
  await desk.getByTestId('issue-assignee').getByText('Chen Jie').waitFor();
});
