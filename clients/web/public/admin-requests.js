// The console's sign-ups: residents waiting to be approved as living in a building
// (`GET /api/residency-requests?state=pending`), approved or refused with a reason. A new
// request arrives live: `residency.requested` on the community's `home:` channel.

import { h, mount } from './dom.js';
import { t, placeName } from './i18n.js';
import { api } from './state.js';
import { listen } from './admin-live.js';
import { field, errText, toast, fmtTime } from './ui.js';

export function requestsTab(box) {
  const list = h('div', { testid: 'requests-list', 'aria-live': 'polite' }, h('p.empty', t('loading')));
  const status = h('div.error', { role: 'alert' });
  const load = async () => {
    try {
      const requests = await api('GET', '/api/residency-requests?state=pending');
      mount(list, requests.length ? h('ul.plain', requests.map(item)) : h('p.empty', { testid: 'requests-none' }, t('requests.none')));
    } catch (e) {
      status.textContent = errText(e);
    }
  };
  const decide = async (r, path, body, done) => {
    status.textContent = '';
    try {
      await api('POST', `/api/residency-requests/${r.id}/${path}`, body);
      toast(done);
      await load();
    } catch (e) {
      status.textContent = errText(e);
    }
  };
  const item = (r) => {
    const reason = h('input', { testid: `reason-${r.id}`, required: true });
    const refuse = h(
      'form.subform.hidden',
      {
        onsubmit: (e) => {
          e.preventDefault();
          if (reason.value.trim()) decide(r, 'refuse', { reason: reason.value.trim() }, t('requests.refused'));
        },
      },
      field(t('requests.reason'), reason),
      h('button.btn.danger', { type: 'submit', testid: `refuse-send-${r.id}` }, t('requests.refuse')),
    );
    return h(
      'li.request',
      { testid: `request-${r.id}` },
      h('div', h('b', r.display_name), ' · ', r.phone_masked || ''),
      h('div.meta', t('requests.wants', { building: placeName(r.building) || `#${r.building?.id}` }), ' · ', fmtTime(r.created_at)),
      h(
        'div.actions',
        h('button.btn', { type: 'button', testid: `approve-${r.id}`, onclick: () => decide(r, 'approve', undefined, t('requests.approved')) }, t('requests.approve')),
        h('button.btn.secondary', {
          type: 'button',
          testid: `refuse-${r.id}`,
          'aria-expanded': 'false',
          onclick: (e) => {
            const shown = refuse.classList.toggle('hidden') === false;
            e.currentTarget.setAttribute('aria-expanded', String(shown));
            if (shown) reason.focus();
          },
        }, t('requests.refuse')),
      ),
      refuse,
    );
  };

  // Live: the communities' home channels (admin-live.js); where none can be read, "refresh".
  const hint = h('p.hint', { testid: 'requests-live' });
  const { live, stop } = listen(['home'], (ev) => {
    if (ev.kind === 'residency.requested') load();
  });
  live.then((yes) => {
    hint.textContent = yes ? t('requests.live') : t('requests.notLive');
    hint.dataset.live = String(yes);
  });

  mount(
    box,
    h(
      'div.section',
      h('h3', t('requests.title')),
      hint,
      status,
      list,
      h('button.btn.small.secondary', { type: 'button', testid: 'requests-refresh', onclick: load }, t('refresh')),
    ),
  );
  load();
  return { cleanup: stop };
}
