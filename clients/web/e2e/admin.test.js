// The admin console end to end, at a phone's size (390×844) unless said otherwise: an admin's
// place import with its preview (a refused line, fixed, then imported) and the tree; an
// official inviting a grid worker who accepts in another browser; an official's reset code and
// "forgot password"; each screen checked with axe-core against the WCAG 2.1 AA rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, signIn, apiAs, SCREENSHOTS } from './support.js';
import { axeCheck, visitor, PHONE } from './enrol-support.js';

const openConsole = async (page, tab) => {
  await page.getByTestId('open-admin').click();
  await page.getByTestId(`admin-tab-${tab}`).click();
  await page.getByTestId(`admin-${tab}`).waitFor();
};

test('an admin previews a place CSV, sees the refused line, fixes it and imports the tree', async (t) => {
  const { base, browser } = await setup(t);
  const admin = await signIn(browser, base, 'admin', PHONE.width, PHONE.height);
  await openConsole(admin, 'places');
  // The tree's roots: the demo's two streets.
  await admin.getByTestId('select-1').getByText('Hehe Street').waitFor();
  await axeCheck(admin, 'the places tab');

  // A street with two communities; one line's units are no number.
  const bad = '东湖街道,荷花社区,,一网格,3栋,很多,6';
  const good = '东湖街道,荷花社区,,一网格,3栋,4,6';
  const csv = [
    'street,community,compound,grid,building,units,floors',
    '东湖街道,桂花社区,,一网格,1栋,4,18',
    '东湖街道,桂花社区,,一网格,2栋,,',
    bad,
    '东湖街道,荷花社区,,二网格,5栋,2,6',
  ].join('\n');
  const text = admin.getByTestId('places-import-text');
  await text.fill(csv);
  await admin.getByTestId('places-import-preview').click();
  const refused = admin.getByTestId('places-import-refused').locator('li');
  await refused.first().waitFor();
  assert.equal(await refused.count(), 1, 'one line is refused');
  assert.equal(await refused.first().getAttribute('data-line'), '4', 'the line with "很多" units is refused (the header is line 1)');
  const why = await refused.first().innerText();
  assert.ok(why.length > 12 && !/^Line 4:\s*\w+$/.test(why), `the refusal is the server's sentence: ${why}`);
  assert.ok(await admin.getByTestId('places-import-apply').isDisabled(), 'no import while a line is refused');
  await axeCheck(admin, 'the import preview with a refused line');
  await admin.getByTestId('places-import-report').scrollIntoViewIfNeeded();
  await admin.screenshot({ path: `${SCREENSHOTS}/admin-import-390.png` });

  // Fixed, previewed again (what would be created, nothing refused), then imported.
  await text.fill(csv.replace(bad, good));
  await admin.getByTestId('places-import-preview').click();
  await admin.locator('[data-testid="places-import-apply"]:enabled').waitFor();
  assert.equal(await admin.getByTestId('places-import-refused').count(), 0);
  const wouldCreate = await admin.getByTestId('places-import-created').locator('tbody tr').count();
  assert.ok(wouldCreate >= 4, `the preview lists the new buildings and what they sit in: ${wouldCreate}`);
  await admin.getByTestId('places-import-apply').click();
  await admin.getByTestId('places-import-summary').getByText('Imported.').waitFor();

  // The new street is in the tree; walk it down to a building.
  const street = admin.locator('.tree-name', { hasText: '东湖街道' });
  await street.waitFor();
  const streetId = (await street.getAttribute('data-testid')).split('-')[1];
  await admin.getByTestId(`toggle-${streetId}`).click();
  await admin.locator('.tree-name', { hasText: '桂花社区' }).waitFor();
  await admin.locator('.tree-name', { hasText: '荷花社区' }).waitFor();

  // A place made elsewhere (another admin, the CLI) shows up live in the tree.
  await admin.getByTestId('toggle-1').click();
  await admin.locator('.tree-name', { hasText: 'Riverside' }).first().waitFor();
  const other = await apiAs(base, 'admin');
  await other.call('POST', '/api/places', { kind: 'community', parent: 1, name: 'Willow', name_zh: '柳树社区' });
  await admin.locator('.tree-name', { hasText: 'Willow' }).waitFor();

  // Importing the same file again changes nothing.
  await text.fill(csv.replace(bad, good));
  await admin.getByTestId('places-import-preview').click();
  await admin.getByTestId('places-import-summary').getByText(/0 new/).waitFor();

  // Rename a community in the panel, archive it, restore it.
  await admin.locator('.tree-name', { hasText: '荷花社区' }).click();
  await admin.getByTestId('place-title').waitFor();
  await admin.getByTestId('rename-en').fill('Lotus');
  await admin.getByTestId('rename-submit').click();
  await admin.locator('.tree-name', { hasText: 'Lotus' }).waitFor();
  await axeCheck(admin, 'the place panel');
  // A community with grids under it is not archived: the server's sentence shows by the button.
  await admin.getByTestId('place-archive').click();
  const refusal = await admin.getByTestId('place-error').filter({ hasText: /\S/ }).innerText();
  assert.ok(refusal.length > 12 && !/^[a-z_]+$/.test(refusal), `the server's sentence: ${refusal}`);
  // A building is: archived, it leaves the tree unless archived places are shown; restored.
  const lotus = (await admin.locator('.tree-name', { hasText: 'Lotus' }).getAttribute('data-testid')).split('-')[1];
  await admin.getByTestId(`toggle-${lotus}`).click();
  const grid2 = admin.locator('.tree-name', { hasText: '二网格' });
  await admin.getByTestId(`toggle-${(await grid2.getAttribute('data-testid')).split('-')[1]}`).click();
  await admin.locator('.tree-name', { hasText: '5栋' }).click();
  await admin.getByTestId('place-archive').click();
  await admin.getByTestId('place-restore').waitFor();
  assert.equal(await admin.locator('.tree-name', { hasText: '5栋' }).count(), 0, 'an archived building leaves the tree');
  await admin.getByTestId('show-archived').check();
  await admin.locator('.tree-row.archived', { hasText: '5栋' }).waitFor();
  await admin.getByTestId('place-restore').click();
  await admin.getByTestId('place-archive').waitFor();
  await admin.locator('.tree-row:not(.archived)', { hasText: '5栋' }).waitFor();

  // The console on a desktop.
  const desk = await signIn(browser, base, 'admin', 1280);
  await openConsole(desk, 'places');
  await desk.locator('.tree-name', { hasText: '东湖街道' }).waitFor();
  await axeCheck(desk, 'the places tab on a desktop', '[data-testid="main"]');
  await desk.screenshot({ path: `${SCREENSHOTS}/admin-places-1280.png` });
  // In Chinese: the sections, the tree and the forms.
  await desk.getByTestId('lang').click();
  await desk.getByTestId('admin-tab-places').getByText('地点').waitFor();
  await desk.getByRole('heading', { name: '地点树' }).waitFor();
  await desk.getByTestId('select-1').getByText('和合街道').waitFor();
  await axeCheck(desk, 'the places tab in Chinese', '[data-testid="main"]');
  await desk.screenshot({ path: `${SCREENSHOTS}/admin-places-zh-1280.png` });
});

test('an official invites a grid worker, who accepts the invite in another browser', async (t) => {
  const { base, browser } = await setup(t);
  const official = await signIn(browser, base, 'official', PHONE.width, PHONE.height);
  await openConsole(official, 'people');
  await axeCheck(official, 'the people tab');

  // Role, then the place the role takes (a grid), walking down from the street.
  await official.getByTestId('invite-role').selectOption('grid_worker');
  await official.getByTestId('invite-place-0').selectOption({ label: 'Hehe Street · Street' });
  await official.getByTestId('invite-place-1').selectOption({ label: 'Riverside · Community' });
  await official.getByTestId('invite-place-2').selectOption({ label: 'Riverside grid 2 · Grid' });
  await official.getByTestId('invite-name').fill('Huang Lei 黄磊');
  await official.getByTestId('invite-submit').click();
  const link = await official.getByTestId('invite-link').innerText();
  const code = await official.getByTestId('invite-code').innerText();
  assert.match(link, /#\/invite\//, `an invite link: ${link}`);
  assert.ok(link.endsWith(code), 'the link carries the code');
  await axeCheck(official, 'the invite shown once');
  await official.getByTestId('invite-result').scrollIntoViewIfNeeded();
  await official.screenshot({ path: `${SCREENSHOTS}/admin-invite-390.png` });

  // The invitee opens the link in a browser of their own, chooses a username and password.
  const invitee = await visitor(browser, base, link.slice(link.indexOf('#')), 'en-GB', 'invitee');
  await invitee.getByTestId('accept-invite').waitFor();
  assert.equal(await invitee.getByTestId('invite-code-input').inputValue(), code);
  await axeCheck(invitee, 'the accept-invite screen');
  await invitee.getByTestId('accept-username').fill('huanglei');
  await invitee.getByTestId('accept-password').fill('river-grid-2');
  await invitee.getByTestId('accept-submit').click();
  await invitee.getByTestId('chat-list').waitFor();
  await invitee.getByTestId('chat-worker').waitFor();
  assert.equal(await invitee.evaluate(() => location.hash), '', 'the spent code leaves the address bar');

  // The same code again is refused, in the server's words.
  const again = await visitor(browser, base, `#/invite/${code}`, 'en-GB', 'again');
  await again.getByTestId('accept-username').fill('someoneelse');
  await again.getByTestId('accept-password').fill('another-pass-1');
  await again.getByTestId('accept-submit').click();
  const refusal = await again.getByTestId('accept-error').filter({ hasText: /\S/ }).innerText();
  assert.ok(refusal.length > 10 && !/^[a-z_]+$/.test(refusal), `a sentence, not a code: ${refusal}`);

  // The official finds the new worker, who holds the role at Riverside grid 2.
  await official.getByTestId('people-q').fill('Huang');
  await official.getByTestId('people-search').click();
  await official.locator('.person-row', { hasText: 'Huang Lei' }).click();
  await official.getByTestId('person-grants').getByText('Grid worker · Riverside grid 2').waitFor();
});

test('an official imports people from CSV: a refused line in the preview, fixed, then imported', async (t) => {
  const { base, browser } = await setup(t);
  const official = await signIn(browser, base, 'official', PHONE.width, PHONE.height);
  await openConsole(official, 'people');
  const bad = '赵刚,1360000,和合街道/滨河社区/滨河社区第1网格,grid_worker';
  const good = '赵刚,13600003333,和合街道/滨河社区/滨河社区第1网格,grid_worker';
  const csv = ['name,phone,place,role', '周小红,13600002222,和合街道/滨河社区/滨河社区第1网格/滨河社区1号楼,resident', bad].join('\n');
  const text = official.getByTestId('people-import-text');
  await text.fill(csv);
  await official.getByTestId('people-import-preview').click();
  const refused = official.getByTestId('people-import-refused').locator('li');
  await refused.first().waitFor();
  assert.equal(await refused.count(), 1);
  assert.equal(await refused.first().getAttribute('data-line'), '3', 'the short phone number is refused');
  assert.ok(await official.getByTestId('people-import-apply').isDisabled());
  await axeCheck(official, 'the people import preview');
  await text.fill(csv.replace(bad, good));
  await official.getByTestId('people-import-preview').click();
  await official.locator('[data-testid="people-import-apply"]:enabled').waitFor();
  await official.getByTestId('people-import-created').getByText('周小红').waitFor();
  await official.getByTestId('people-import-apply').click();
  await official.getByTestId('people-import-summary').getByText('Imported.').waitFor();
  // The resident is found, with her role in the community.
  await official.getByTestId('people-q').fill('周小红');
  await official.getByTestId('people-search').click();
  await official.locator('.person-row', { hasText: '周小红' }).click();
  await official.getByTestId('person-grants').getByText('Resident · Riverside').waitFor();
});

test('an official makes a reset code; the worker resets the password with it and changes it again', async (t) => {
  const { base, browser } = await setup(t);
  const official = await signIn(browser, base, 'official', PHONE.width, PHONE.height);
  await openConsole(official, 'people');
  await official.getByTestId('people-q').fill('worker');
  await official.getByTestId('people-search').click();
  const worker = (await apiAs(base, 'worker')).account;
  await official.getByTestId(`person-${worker.id}`).click();
  await official.getByTestId('person-reset').click();
  const code = await official.getByTestId('reset-code').innerText();
  assert.ok(code.length >= 6, 'a reset code is shown once');
  await axeCheck(official, 'a person with a reset code');

  // "Forgot password" from the sign-in page: username, the official's code, a new password.
  const page = await visitor(browser, base, '', 'en-GB', 'worker');
  await page.getByTestId('to-forgot').click();
  await page.getByTestId('forgot').waitFor();
  await axeCheck(page, 'the forgot-password screen');
  await page.getByTestId('forgot-who').fill('worker');
  await page.getByTestId('forgot-code').fill(code);
  await page.getByTestId('forgot-password').fill('new-worker-pass');
  await page.getByTestId('forgot-submit').click();
  await page.getByTestId('forgot-to-login').click();
  await page.getByTestId('login-username').fill('worker');
  await page.getByTestId('login-password').fill('new-worker-pass');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('chat-list').waitFor();

  // Signed in, the worker changes it from "Me".
  await page.getByTestId('open-account').click();
  await page.getByTestId('account').waitFor();
  await axeCheck(page, 'the account screen');
  await page.getByTestId('pw-current').fill('new-worker-pass');
  await page.getByTestId('pw-new').fill('third-worker-pass');
  await page.getByTestId('pw-again').fill('third-worker-pass');
  await page.getByTestId('pw-submit').click();
  await page.getByTestId('toast').getByText('Password changed').waitFor();
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'worker', password: 'third-worker-pass' }) });
  assert.equal(login.status, 200, 'the new password signs in');
});

test('an admin grants a role and revokes it, disables an account and enables it', async (t) => {
  const { base, browser } = await setup(t);
  const admin = await signIn(browser, base, 'admin', PHONE.width, PHONE.height);
  await openConsole(admin, 'people');
  const resident = (await apiAs(base, 'resident')).account;
  await admin.getByTestId('people-q').fill('resident');
  await admin.getByTestId('people-search').click();
  await admin.getByTestId(`person-${resident.id}`).click();
  await admin.getByTestId('person-grants').getByText('Resident · Riverside').waitFor();

  // Building lead of Riverside building 1: the role, then the building down the tree.
  await admin.getByTestId('grant-role').selectOption('building_lead');
  for (const [i, label] of ['Hehe Street · Street', 'Riverside · Community', 'Riverside grid 1 · Grid', 'Riverside building 1 · Building'].entries()) {
    await admin.getByTestId(`grant-place-${i}`).selectOption({ label });
  }
  await admin.getByTestId('grant-submit').click();
  await admin.getByTestId('person-grants').getByText('Building lead · Riverside building 1').waitFor();
  await axeCheck(admin, 'a person with two roles');
  await admin.getByRole('button', { name: 'Revoke Building lead · Riverside building 1' }).click();
  await admin.getByTestId('toast').getByText('Revoked').waitFor();
  await admin.getByTestId('person-grants').getByText('Building lead').waitFor({ state: 'detached' });
  await admin.getByTestId('person-grants').getByText('Resident · Riverside').waitFor();

  // Disabled, the account cannot sign in; enabled again, it can.
  const login = () => fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'resident', password: 'hehe-demo' }) });
  await admin.getByTestId('person-disable').click();
  await admin.getByTestId('person-status').getByText('Disabled').waitFor();
  assert.notEqual((await login()).status, 200, 'a disabled account does not sign in');
  await admin.getByTestId('person-enable').click();
  await admin.getByTestId('person-status').getByText('Active').waitFor();
  assert.equal((await login()).status, 200);
});

test('the sign-in page and its ways in meet WCAG 2.1 AA, in Chinese', async (t) => {
  const { base, browser } = await setup(t);
  const page = await visitor(browser, base, '', 'zh-CN', 'login');
  await page.getByTestId('login').waitFor();
  await axeCheck(page, 'the sign-in page');
  await page.getByTestId('to-signup').click();
  await page.getByTestId('signup').waitFor();
  await axeCheck(page, 'the sign-up screen');
  await page.screenshot({ path: `${SCREENSHOTS}/signup-390.png`, fullPage: true });
  await page.getByTestId('to-login').click();
  await page.getByTestId('to-invite').click();
  await page.getByTestId('accept-invite').waitFor();
  await page.getByTestId('to-login').click();
  // A wrong password: the server's sentence, not a code.
  await page.getByTestId('login-username').fill('resident');
  await page.getByTestId('login-password').fill('wrong-password');
  await page.getByTestId('login-submit').click();
  const err = page.getByTestId('login-error');
  await err.filter({ hasText: /\S/ }).waitFor();
  assert.ok(!/invalid_credentials/.test(await err.innerText()), `no bare code: ${await err.innerText()}`);
});
