// Screenshots of the main screens at 375 px (a phone) and 1280 px (a desktop), saved to
// clients/web/screenshots/ (committed; see README). Some issues and messages are made first over
// the HTTP API so the screens have something to show.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, signIn, apiAs, SCREENSHOTS } from './support.js';

test('main screens at 375 px and 1280 px', async (t) => {
  const { base, browser } = await setup(t);
  const resident = await apiAs(base, 'resident');
  const resident2 = await apiAs(base, 'resident2');
  const official = await apiAs(base, 'official');
  let n = 0;
  const raise = (who, place, category, title) =>
    who.call('POST', '/api/issues', { request_id: `shot-${++n}`, issue: { category, title, description: title, place_id: place } });
  const a = await raise(resident, 4, 'drainage', 'Drain behind building 1 leaks');
  await raise(resident, 5, 'parking', 'Cars parked on the fire lane');
  await raise(resident2, 11, 'noise', 'Night-time noise from the workshop');
  await official.action(a.id, { kind: 'accept' });
  await official.call('POST', '/api/channels/home:2/messages', { request_id: 'shot-msg', text: 'Water is off 9-11 tomorrow for pipe works.' });

  // The sign-in page, with the demo accounts.
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, locale: 'zh-CN' });
  const login = await context.newPage();
  await login.goto(base + '/');
  await login.getByTestId('demo-accounts').waitFor();
  await login.screenshot({ path: `${SCREENSHOTS}/login-375.png` });
  await context.close();

  // The resident's chats and her community's home channel (Chinese and English).
  const phone = await signIn(browser, base, 'resident');
  await phone.getByTestId('chat-home:2').waitFor();
  await phone.screenshot({ path: `${SCREENSHOTS}/chats-375.png` });
  await phone.getByTestId('chat-home:2').click();
  await phone.locator('.bubble', { hasText: 'Water is off 9-11' }).waitFor();
  await phone.getByTestId(`issue-card-${a.id}`).getByTestId('issue-place').getByText('Riverside building 1').waitFor();
  await phone.screenshot({ path: `${SCREENSHOTS}/home-375.png` });

  // A building lead starts a report in her building (the picker offers it and the grid around
  // it): the open drainage issue of the same grid is offered, and she says "me too" instead.
  const lead = await signIn(browser, base, 'lead');
  await lead.getByTestId('raise-issue').click();
  await lead.getByTestId('raise-category').selectOption('drainage');
  const picked = lead.getByTestId('raise-building');
  await picked.waitFor();
  assert.deepEqual(await picked.locator('option').allInnerTexts(), ['Riverside grid 1 (the whole grid)', 'Riverside building 1']);
  assert.equal(await picked.inputValue(), '4');
  await lead.getByTestId(`metoo-${a.id}`).waitFor();
  await lead.getByTestId('raise-title').fill('The drain leaks again');
  await lead.screenshot({ path: `${SCREENSHOTS}/raise-375.png` });
  await lead.getByTestId(`metoo-${a.id}`).click();
  await lead.getByTestId(`metoo-${a.id}`).getByText('Added your report').waitFor();

  // The street chief's board on a desktop; a new issue moves it live.
  const desk = await signIn(browser, base, 'chief', 1280);
  await desk.getByTestId('chat-board').click();
  await desk.getByTestId('board').locator('svg').first().waitFor();
  const before = Number(await desk.getByTestId('board-open').innerText());
  await raise(resident, 4, 'clutter', 'Boxes in the garage');
  await desk.waitForFunction((b) => Number(document.querySelector('[data-testid="board-open"]')?.textContent) === b + 1, before);
  assert.equal(Number(await desk.getByTestId('board-open').innerText()), before + 1);
  // The per-grid figures follow (they are fetched again after the live counters moved).
  await desk.getByTestId('board-grids-2').locator('text.chart-value', { hasText: /^3$/ }).waitFor();
  // Every community and grid on the board is named, not numbered.
  const board = desk.getByTestId('board');
  for (const name of ['Hehe Street', 'Per grid · Riverside', 'Per grid · Orchard']) await board.getByText(name).first().waitFor();
  const labels = await board.locator('text.chart-label').allTextContents();
  for (const name of ['Riverside', 'Orchard', 'Riverside grid 1', 'Riverside grid 2', 'Orchard grid 1', 'Orchard grid 2']) assert.ok(labels.includes(name), `the board names ${name}: ${labels}`);
  assert.ok(!labels.some((l) => /^#?\d+$|Community \d/.test(l)), `no place is shown by number: ${labels}`);
  await desk.screenshot({ path: `${SCREENSHOTS}/board-1280.png` });

  // The street chief's picker walks the street: a community, its grids, a grid's buildings.
  await desk.getByTestId('raise-issue').click();
  await desk.getByTestId('raise-community').selectOption({ label: 'Orchard' });
  await desk.getByTestId('raise-grid').selectOption({ label: 'Orchard grid 2' });
  await desk.getByTestId('raise-building').waitFor();
  const options = await desk.getByTestId('raise-building').locator('option').allInnerTexts();
  assert.deepEqual(options, ['Orchard grid 2 (the whole grid)', 'Orchard building 3', 'Orchard building 4']);
  await desk.mouse.click(5, 5); // the backdrop closes the sheet

  // In Chinese, the places are named in Chinese.
  await desk.getByTestId('lang').click();
  await desk.getByTestId('chat-home:9').getByText('和合家园 · 果园社区').waitFor();
  await desk.getByTestId('board').locator('text.chart-label', { hasText: '滨河社区第1网格' }).waitFor();
});
