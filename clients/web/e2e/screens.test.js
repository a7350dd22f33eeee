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
  await phone.getByTestId(`issue-card-${a.id}`).waitFor();
  await phone.screenshot({ path: `${SCREENSHOTS}/home-375.png` });

  // A building lead starts a report in her building: the open drainage issue of the same grid
  // is offered, and she says "me too" instead.
  const lead = await signIn(browser, base, 'lead');
  await lead.getByTestId('raise-issue').click();
  await lead.getByTestId('raise-category').selectOption('drainage');
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
  await desk.screenshot({ path: `${SCREENSHOTS}/board-1280.png` });
});
