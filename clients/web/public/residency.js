// A resident's residency: the screen of a signed-up account that waits for approval (no role
// yet: it follows `residency.approved` / `residency.refused` on its `user:` channel live), and
// "my building" with a move to another building (`POST /api/me/residency`, approval again).

import { h, mount } from './dom.js';
import { t, placeName } from './i18n.js';
import { S, api, emit, saveSession } from './state.js';
import { field, errText, toast, fmtTime } from './ui.js';

/** The latest request of the signed-in person, or null when there is none. */
async function myRequest() {
  try {
    return await api('GET', '/api/me/residency');
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

function describe(r) {
  if (!r) return t('residency.noneYet');
  const building = placeName(r.building) || `#${r.building?.id}`;
  return t(`residency.${r.state}`, { building, reason: r.reason || '', when: fmtTime(r.decided_at || r.created_at) });
}

/** A form asking to live in another building (after a refusal, or to move). */
function moveForm(onSent) {
  const building = h('input', { type: 'number', min: 1, inputMode: 'numeric', testid: 'move-building', required: true });
  const err = h('div.error', { role: 'alert' });
  return h(
    'form.subform',
    {
      testid: 'residency-form',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          await api('POST', '/api/me/residency', { building: Number(building.value) });
          toast(t('residency.sent'));
          onSent();
        } catch (e2) {
          err.textContent = errText(e2);
        }
      },
    },
    field(t('residency.moveTo'), building, t('signup.buildingHint')),
    err,
    h('button.btn.secondary', { type: 'submit', testid: 'residency-submit' }, t('residency.move')),
  );
}

/**
 * The screen of an account with no role yet, drawn into `root`. `start()` runs again once the
 * request is approved (the account then has its resident role and its chats).
 */
export async function showPending(root, start) {
  const status = h('p', { testid: 'pending-state', role: 'status', 'aria-live': 'polite' }, t('loading'));
  const extra = h('div');
  const draw = async () => {
    try {
      const r = await myRequest();
      status.textContent = describe(r);
      status.dataset.state = r?.state || 'none';
      mount(extra, (!r || r.state === 'refused') && moveForm(draw));
    } catch (e) {
      status.textContent = errText(e);
    }
  };
  root.className = 'app';
  mount(
    root,
    h(
      'main.public',
      h(
        'div.login.aa',
        { testid: 'pending' },
        h('h1', t('residency.title', { name: S.me.display_name })),
        status,
        extra,
        h('div.actions', h('button.btn.secondary', { type: 'button', testid: 'logout', onclick: () => emit('logout') }, t('logout'))),
      ),
    ),
  );
  await draw();
  // Decided live: the applicant's own channel says so.
  const channel = `user:${S.me.id}`;
  const onEvent = async (ev) => {
    if (ev.kind === 'residency.approved') {
      toast(t('residency.welcome'));
      S.client?.close();
      S.client = null;
      // Fresh tokens, so nothing cached still holds the account without its role.
      await S.http?.refresh().then(saveSession, () => {});
      await start();
    } else if (ev.kind === 'residency.refused') draw();
  };
  try {
    const sub = S.client.subscription(channel) || (await S.client.subscribe(channel, { onReset: () => draw() }));
    sub.on('event', onEvent);
    // Decided while the subscription was being made: read it once more.
    if ((await myRequest())?.state === 'approved') await onEvent({ kind: 'residency.approved' });
  } catch {
    /* not live: a reload shows the decision */
  }
}

/** "My building" in the account screen, for residents. */
export function residencySection() {
  const status = h('p', { testid: 'residency-state' }, t('loading'));
  const box = h('div.section', h('h3', t('residency.mine')), status);
  const draw = async () => {
    try {
      const r = await myRequest();
      status.textContent = describe(r);
      box.querySelector('form')?.remove();
      if (!r || r.state !== 'pending') box.append(moveForm(draw));
    } catch (e) {
      status.textContent = errText(e);
    }
  };
  draw();
  return box;
}
