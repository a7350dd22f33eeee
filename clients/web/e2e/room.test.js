// The living room: the chair (demo `chief`, who chairs the Riverside hearing, meeting 1) starts
// it and mutes a participant (demo `resident`): the participant's input is disabled at once, and
// a `say` forced through the SDK is refused by the server with `forbidden`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, signIn, apiAs, SCREENSHOTS } from './support.js';

test('a chair mutes a participant: the input is disabled and the server refuses the post', async (t) => {
  const { base, browser } = await setup(t);
  const residentId = (await apiAs(base, 'resident')).account.id;
  const chief = await signIn(browser, base, 'chief', 1280);
  const resident = await signIn(browser, base, 'resident');

  // The street chief's chats list the hearing of his Riverside community, and its home chat.
  await chief.getByTestId('chat-home:2').getByText('Home · Riverside').waitFor();
  await chief.getByTestId('chat-home:9').getByText('Home · Orchard').waitFor();
  await chief.getByTestId('chat-room:1').getByText('Riverside · Not started').waitFor();
  await chief.getByTestId('chat-room:1').click();
  await chief.getByTestId('room-start').click();
  await chief.locator('[data-testid="room-state"][data-state="live"]').waitFor();

  await resident.getByTestId('chat-room:1').click();
  await resident.locator('[data-testid="room-state"][data-state="live"]').waitFor();
  const input = resident.getByTestId('composer-input');
  await input.fill('I support replacing the whole pipe.');
  await resident.getByTestId('composer-send').click();
  await chief.getByText('I support replacing the whole pipe.').waitFor();
  await resident.getByTestId('raise-hand').click();
  await chief.locator(`[data-testid="person-${residentId}"] .tag.hand`).waitFor();

  // The chair mutes her.
  await chief.getByTestId(`mute-${residentId}`).click();
  await chief.locator(`[data-testid="person-${residentId}"][data-muted="true"]`).waitFor();
  await resident.locator('[data-testid="composer-input"]:disabled').waitFor();
  assert.equal(await input.isDisabled(), true);
  await resident.screenshot({ path: `${SCREENSHOTS}/room-muted-375.png` });
  await chief.screenshot({ path: `${SCREENSHOTS}/room-chair-1280.png` });

  // Forced through the SDK, the server refuses.
  const code = await resident.evaluate(async () => {
    try {
      await globalThis.hehe.client.roomAction(1, { kind: 'say', text: 'Let me speak!' });
      return 'accepted';
    } catch (err) {
      return err.code;
    }
  });
  assert.equal(code, 'forbidden');
  // A plain post to the room's channel is refused too (rooms are written by room actions).
  const postCode = await resident.evaluate(async () => {
    try {
      await globalThis.hehe.client.post('room:1', 'Let me speak!');
      return 'accepted';
    } catch (err) {
      return err.code;
    }
  });
  assert.equal(postCode, 'forbidden');

  // Unmuted, she may speak again.
  await chief.getByTestId(`unmute-${residentId}`).click();
  await resident.locator('[data-testid="composer-input"]:enabled').waitFor();

  // A vote: the muted-then-unmuted participant casts a ballot and the tally moves live.
  await chief.getByTestId('open-vote').click();
  await chief.getByTestId('vote-question').fill('Replace the whole pipe from the maintenance fund?');
  await chief.getByTestId('vote-submit').click();
  await resident.getByTestId('cast-1-0').click();
  await chief.getByTestId('vote-1').getByText('1 ballots').waitFor();
  await resident.getByTestId('vote-1').getByText('1 ballots').waitFor();
});
