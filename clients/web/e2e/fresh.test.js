// Issue 14's "done when", in the browser: a fresh server with no demo (HEHE_SEED_DEMO=false)
// and its first admin (`hehe-server create-admin`); through the console alone the admin imports
// a street with two communities, grids and buildings from CSV and invites a community official,
// who accepts in a browser of her own and invites a grid worker, who accepts in a third; a
// resident signs up with an SMS code (a local receiver stands in for the provider) and the
// official approves her live; the official dispatches her issue by picking the worker by name;
// she forgets her password and resets it by SMS. All at a phone's size (390×844).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setup, BIN, SCREENSHOTS } from './support.js';
import { axeCheck, smsReceiver, visitor } from './enrol-support.js';

/** Signs in on the sign-in form of a fresh page. */
async function signInAs(page, username, password) {
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('chat-list').waitFor();
}

/** Invites `name` to `role` at the place reached by `labels` (one a level), then returns the link. */
async function invite(page, role, labels, name) {
  // On a phone the chat list (with "Admin") is hidden while a screen is open: go by address.
  await page.evaluate(() => (location.hash = '#admin/people'));
  await page.getByTestId('admin-people').waitFor();
  await page.getByTestId('invite-role').selectOption(role);
  for (const [i, label] of labels.entries()) await page.getByTestId(`invite-place-${i}`).selectOption({ label });
  await page.getByTestId('invite-name').fill(name);
  await page.getByTestId('invite-submit').click();
  const link = await page.getByTestId('invite-link').innerText();
  return link.slice(link.indexOf('#'));
}

/** Opens an invite link in a new browser and accepts it. */
async function accept(browser, base, hash, username, password) {
  const page = await visitor(browser, base, hash, 'zh-CN', username);
  await page.getByTestId('accept-username').fill(username);
  await page.getByTestId('accept-password').fill(password);
  await page.getByTestId('accept-submit').click();
  await page.getByTestId('chat-list').waitFor();
  return page;
}

test('from an empty database to a dispatched issue, through the console alone', async (t) => {
  const sms = await smsReceiver(t);
  const { base, browser, dir } = await setup(t, { HEHE_SEED_DEMO: 'false', HEHE_SMS_URL: sms.url, HEHE_SMS_KEY: 'e2e-key' });
  const made = spawnSync(BIN, ['create-admin', '--username', 'street.admin', '--display-name', '街道管理员'], {
    input: 'first-admin-pass\n',
    env: { ...process.env, HEHE_DATA_DIR: dir, HEHE_SEED_DEMO: 'false', HEHE_LOG: 'warn' },
    encoding: 'utf8',
  });
  assert.equal(made.status, 0, `create-admin: ${made.stderr}`);

  // The admin imports the street (in Chinese, as a street office would).
  const admin = await visitor(browser, base, '', 'zh-CN', 'admin');
  await signInAs(admin, 'street.admin', 'first-admin-pass');
  await admin.getByTestId('open-admin').click();
  await admin.getByTestId('admin-places').waitFor();
  const csv = [
    'street,community,compound,grid,building,units,floors',
    '东湖街道,桂花社区,,一网格,1栋,4,18',
    '东湖街道,桂花社区,,一网格,2栋,4,18',
    '东湖街道,桂花社区,,二网格,3栋,2,6',
    '东湖街道,荷花社区,荷花苑,一网格,8栋,3,11',
  ].join('\n');
  await admin.getByTestId('places-import-text').fill(csv);
  await admin.getByTestId('places-import-preview').click();
  await admin.getByTestId('places-import-created').waitFor();
  await admin.getByTestId('places-import-apply').click();
  await admin.getByTestId('places-import-summary').getByText('已导入。').waitFor();
  await admin.locator('.tree-name', { hasText: '东湖街道' }).waitFor();

  // The admin invites the official of 桂花社区; she accepts in her own browser.
  const officialLink = await invite(admin, 'community_official', ['东湖街道 · 街道', '桂花社区 · 社区'], '林晓 Lin Xiao');
  const official = await accept(browser, base, officialLink, 'linxiao', 'osmanthus-1');
  // She invites the worker of 一网格; he accepts in a third browser.
  const workerLink = await invite(official, 'grid_worker', ['东湖街道 · 街道', '桂花社区 · 社区', '一网格 · 网格'], '高强 Gao Qiang');
  const worker = await accept(browser, base, workerLink, 'gaoqiang', 'grid-one-worker');
  await worker.getByTestId('chat-worker').waitFor();

  // The official waits on the sign-ups; a resident of 2栋 signs up with the code sent to her.
  await official.getByTestId('admin-tab-requests').click();
  await official.getByTestId('requests-none').waitFor();
  const adminToken = (await (await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'street.admin', password: 'first-admin-pass' }) })).json()).access_token;
  const get = async (path) => (await fetch(base + path, { headers: { authorization: `Bearer ${adminToken}` } })).json();
  const street = (await get('/api/places')).find((p) => p.name_zh === '东湖街道');
  const community = (await get(`/api/places/${street.id}`)).children.find((p) => p.name_zh === '桂花社区');
  const grid = (await get(`/api/places/${community.id}`)).children.find((p) => p.name_zh === '一网格');
  const building = (await get(`/api/places/${grid.id}`)).children.find((p) => p.name_zh === '2栋');
  const phone = '13566667777';
  const resident = await visitor(browser, base, '', 'zh-CN', 'resident');
  await resident.getByTestId('to-signup').click();
  await resident.getByTestId('signup-phone').fill(phone);
  const asked = Date.now();
  await resident.getByTestId('signup-send-code').click();
  await resident.getByTestId('signup-code').fill(await sms.codeFor(phone, asked));
  await resident.getByTestId('signup-password').fill('my-flat-on-2');
  await resident.getByTestId('signup-name').fill('周敏');
  // Her building, level by level: the only street is chosen by itself; 荷花社区 has a compound
  // (小区) between it and its grid, 桂花社区 none.
  await resident.getByLabel('街道', { exact: true }).locator('option', { hasText: '东湖街道' }).waitFor({ state: 'attached' });
  assert.equal(await resident.getByLabel('街道', { exact: true }).inputValue(), String(street.id));
  await resident.getByLabel('社区', { exact: true }).selectOption({ label: '荷花社区' });
  await resident.getByLabel('小区', { exact: true }).locator('option', { hasText: '荷花苑' }).waitFor({ state: 'attached' });
  await resident.getByLabel('网格', { exact: true }).locator('option', { hasText: '一网格' }).waitFor({ state: 'attached' });
  await resident.getByLabel('社区', { exact: true }).selectOption({ label: '桂花社区' });
  assert.equal(await resident.getByLabel('小区', { exact: true }).count(), 0, 'no compound in 桂花社区');
  await resident.getByLabel('网格', { exact: true }).selectOption({ label: '一网格' });
  await resident.getByLabel('楼栋', { exact: true }).selectOption({ label: '2栋' });
  assert.equal(await resident.getByLabel('楼栋', { exact: true }).inputValue(), String(building.id));
  await axeCheck(resident, 'the sign-up form in Chinese, its building picked');
  await resident.getByTestId('signup-submit').click();
  await resident.locator('[data-testid="pending-state"][data-state="pending"]').waitFor();
  const row = official.locator('[data-testid^="request-"]', { hasText: '周敏' });
  await row.getByRole('button', { name: '通过', exact: true }).click();
  await resident.getByTestId('chat-list').waitFor();
  await resident.getByTestId(`chat-home:${community.id}`).waitFor();

  // Her issue, accepted and dispatched by the official, who picks the worker by name.
  const residentToken = (await (await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: phone, password: 'my-flat-on-2' }) })).json()).access_token;
  const categories = await (await fetch(`${base}/api/categories`, { headers: { authorization: `Bearer ${residentToken}` } })).json();
  const created = await fetch(`${base}/api/issues`, {
    method: 'POST',
    headers: { authorization: `Bearer ${residentToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: 'fresh-1', issue: { category: categories[0].code, title: '楼道灯坏了', description: '2栋三楼的楼道灯不亮。', place_id: building.id } }),
  });
  const issue = await created.json();
  assert.ok(created.ok, JSON.stringify(issue));
  await official.evaluate((n) => (location.hash = `#issue/${n}`), issue.id);
  await official.getByTestId('act-accept').click();
  await official.getByTestId('act-dispatch').click();
  await official.getByRole('radio', { name: /高强/ }).check();
  await axeCheck(official, 'the dispatch picker in Chinese', '[role="dialog"]');
  await official.getByTestId('sheet-submit').click();
  await official.locator('[data-testid="issue-state"][data-state="dispatched"]').waitFor();
  await worker.getByTestId('chat-worker').click();
  await worker.getByTestId(`ack-${issue.id}`).waitFor();

  // She forgot her password: an SMS code and a new one; the old one no longer signs in.
  const forgot = await visitor(browser, base, '#forgot', 'zh-CN', 'forgot');
  await forgot.getByTestId('forgot-who').fill(phone);
  const again = Date.now();
  await forgot.getByTestId('forgot-send-code').click();
  await forgot.getByTestId('forgot-code').fill(await sms.codeFor(phone, again));
  await forgot.getByTestId('forgot-password').fill('a-new-flat-pass');
  await forgot.getByTestId('forgot-submit').click();
  await forgot.getByTestId('forgot-to-login').click();
  await signInAs(forgot, phone, 'a-new-flat-pass');
  await forgot.screenshot({ path: `${SCREENSHOTS}/fresh-resident-390.png` });
  const old = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: phone, password: 'my-flat-on-2' }) });
  assert.equal(old.status, 401, 'the forgotten password is gone');
});
