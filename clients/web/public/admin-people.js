// The console's people: search (`GET /api/people`), one person's roles (grant and revoke),
// disable and enable, a one-time reset code; inviting staff (the code and link shown once);
// the people CSV import with its preview.

import { h, mount } from './dom.js';
import { t, placeName } from './i18n.js';
import { S, api, hasRole } from './state.js';
import { field, errText, toast, secretBox, fmtTime } from './ui.js';
import { importBox } from './admin-import.js';
import { placePicker, ROLE_KIND } from './place-picker.js';

export const ROLES = ['resident', 'building_lead', 'grid_worker', 'community_official', 'street_chief', 'ops', 'admin'];

/** The roles the caller may hand out: any for an admin, else those below their highest. */
function rolesBelowMine() {
  if (hasRole('admin')) return ROLES;
  const top = Math.max(...(S.me?.grants || []).map((g) => ROLES.indexOf(g.role)));
  return ROLES.slice(0, Math.max(0, top));
}

/** A role and a place of the kind that role takes; `get()` → { role, place } or null. */
function rolePlace(testid) {
  const role = h('select', { testid: `${testid}-role` }, rolesBelowMine().map((r) => h('option', { value: r }, t(`role.${r}`))));
  let place = null;
  const holder = h('div');
  const draw = () => {
    place = null;
    const kind = ROLE_KIND[role.value];
    mount(holder, kind && field(t('people.place'), placePicker({ kinds: [kind], testid: `${testid}-place`, label: t('people.place'), onChange: (p) => (place = p) })));
  };
  role.addEventListener('change', draw);
  draw();
  return {
    el: h('div', field(t('people.role'), role), holder),
    get: () => ({ role: role.value, place: ROLE_KIND[role.value] ? place : null, needsPlace: Boolean(ROLE_KIND[role.value]) }),
  };
}

export function peopleTab(box) {
  const results = h('div.people-list', { testid: 'people-results' });
  const person = h('div.section', { testid: 'person-panel' });
  const q = h('input', { type: 'search', testid: 'people-q' });
  const role = h('select', { testid: 'people-role' }, h('option', { value: '' }, t('people.anyRole')), ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const status = h('div.error', { role: 'alert' });

  const search = async () => {
    status.textContent = '';
    const params = new URLSearchParams({ limit: '50' });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (role.value) params.set('role', role.value);
    try {
      const list = await api('GET', `/api/people?${params}`);
      mount(
        results,
        list.length
          ? h('ul.plain', list.map((p) => h('li', h('button.person-row', { type: 'button', testid: `person-${p.id}`, onclick: () => showPerson(p) }, personLine(p)))))
          : h('p.empty', t('people.none')),
      );
    } catch (e) {
      status.textContent = errText(e);
    }
  };

  const showPerson = (p) => {
    const err = h('div.error', { role: 'alert' });
    const secret = h('div');
    const rp = rolePlace('grant');
    const act = async (fn) => {
      err.textContent = '';
      try {
        return await fn();
      } catch (e) {
        err.textContent = errText(e);
        return null;
      }
    };
    /** Grants and disabling answer the account (`AccountDetail`); the person is read again. */
    const refresh = async () => {
      const list = await api('GET', `/api/people?q=${encodeURIComponent(p.username)}&limit=5`).catch(() => []);
      showPerson(list.find((x) => x.id === p.id) || p);
    };
    const grant = async (give, role, place) => {
      const body = { role };
      if (place) body.place = place;
      if (await act(() => api(give ? 'POST' : 'DELETE', `/api/accounts/${p.id}/grants`, body))) {
        await refresh();
        toast(give ? t('people.granted') : t('people.revoked'));
        search();
      }
    };
    mount(
      person,
      h('h3', { tabIndex: -1, testid: 'person-name' }, p.display_name, p.romanised_name && ` (${p.romanised_name})`),
      h(
        'dl.facts',
        h('dt', t('people.username')), h('dd', p.username),
        h('dt', t('people.phone')), h('dd', { testid: 'person-phone' }, p.phone || '—'),
        p.email && [h('dt', t('people.email')), h('dd', p.email)],
        h('dt', t('people.status')), h('dd', { testid: 'person-status' }, p.disabled ? t('people.disabled') : t('people.active')),
      ),
      h('h4', t('people.roles')),
      h(
        'ul.plain',
        { testid: 'person-grants' },
        (p.grants || []).map((g) =>
          h(
            'li.grant',
            h('span', grantText(g)),
            h('button.btn.small.secondary', {
              type: 'button',
              testid: `revoke-${g.role}-${g.place?.id ?? 'none'}`,
              'aria-label': t('people.revokeOne', { what: grantText(g) }),
              onclick: () => grant(false, g.role, g.place?.id),
            }, t('people.revoke')),
          ),
        ),
      ),
      h(
        'form.subform',
        {
          testid: 'grant-form',
          onsubmit: (e) => {
            e.preventDefault();
            const { role: r, place, needsPlace } = rp.get();
            if (needsPlace && !place) {
              err.textContent = t('people.pickPlace');
              return;
            }
            grant(true, r, place?.id);
          },
        },
        h('h4', t('people.grant')),
        rp.el,
        h('button.btn', { type: 'submit', testid: 'grant-submit' }, t('people.grant')),
      ),
      h(
        'div.actions',
        hasRole('admin') &&
          h('button.btn.secondary', {
            type: 'button',
            testid: p.disabled ? 'person-enable' : 'person-disable',
            onclick: async () => {
              // 204, no body: `act` answers true once it went through.
              if (await act(async () => (await api('POST', `/api/accounts/${p.id}/${p.disabled ? 'enable' : 'disable'}`), true))) {
                toast(p.disabled ? t('people.enabled') : t('people.disabledDone'));
                showPerson({ ...p, disabled: !p.disabled });
                search();
              }
            },
          }, p.disabled ? t('people.enable') : t('people.disable')),
        h('button.btn.secondary', {
          type: 'button',
          testid: 'person-reset',
          onclick: async () => {
            const r = await act(() => api('POST', `/api/accounts/${p.id}/reset-code`));
            if (r) mount(secret, secretBox(t('people.resetCode'), r.code, 'reset-code'), h('p.hint', t('people.resetHint', { until: fmtTime(r.expires_at) })));
          },
        }, t('people.reset')),
      ),
      secret,
      err,
    );
    person.querySelector('h3')?.focus();
  };

  mount(
    box,
    h(
      'div.section',
      h('h3', t('people.title')),
      h(
        'form.search',
        { role: 'search', onsubmit: (e) => (e.preventDefault(), search()) },
        field(t('people.q'), q),
        field(t('people.role'), role),
        h('button.btn', { type: 'submit', testid: 'people-search' }, t('people.search')),
      ),
      status,
      results,
    ),
    person,
    h('div.section', h('h3', t('invite.title')), inviteForm()),
    h('div.section', h('h3', t('invite.pending')), pendingInvites()),
    h(
      'div.section',
      h('h3', t('people.import')),
      importBox({ path: '/api/people/import', testid: 'people-import', header: 'name,phone,place,role', example: '张三,13800138000,东湖街道/桂花社区/一网格/3栋,resident', onApplied: search }),
    ),
  );
  search();
  return {};
}

function personLine(p) {
  return [
    h('span.name', p.display_name, p.romanised_name && ` (${p.romanised_name})`),
    h('span.meta', [p.username, p.phone].filter(Boolean).join(' · ')),
    (p.grants || []).map((g) => h('span.tag', grantText(g))),
    p.disabled && h('span.tag.muted', t('people.disabled')),
  ];
}

function grantText(g) {
  return g.place ? `${t(`role.${g.role}`)} · ${placeName(g.place)}` : t(`role.${g.role}`);
}

/** Invite a person to a role at a place: the code and link are shown here once. */
function inviteForm() {
  const rp = rolePlace('invite');
  const name = h('input', { testid: 'invite-name', required: true, autocomplete: 'off' });
  const phone = h('input', { type: 'tel', testid: 'invite-phone', autocomplete: 'off' });
  const email = h('input', { type: 'email', testid: 'invite-email', autocomplete: 'off' });
  const err = h('div.error', { role: 'alert' });
  const out = h('div', { testid: 'invite-result' });
  const send = h('button.btn', { type: 'submit', testid: 'invite-submit' }, t('invite.send'));
  return h(
    'form.subform',
    {
      testid: 'invite-form',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        mount(out);
        const { role, place, needsPlace } = rp.get();
        if (needsPlace && !place) {
          err.textContent = t('people.pickPlace');
          return;
        }
        const body = { role, place: place?.id ?? null, display_name: name.value.trim() };
        if (phone.value.trim()) body.phone = phone.value.trim();
        if (email.value.trim()) body.email = email.value.trim();
        send.disabled = true;
        try {
          const r = await api('POST', '/api/invites', body);
          const link = new URL(r.link, location.origin).href;
          mount(out, h('p', t('invite.made', { name: r.invite?.display_name || body.display_name })), secretBox(t('invite.code'), r.code, 'invite-code'), secretBox(t('invite.link'), link, 'invite-link'), h('p.hint', t('invite.once')));
          name.value = phone.value = email.value = '';
        } catch (e2) {
          err.textContent = errText(e2);
        } finally {
          send.disabled = false;
        }
      },
    },
    rp.el,
    field(t('invite.name'), name),
    field(t('invite.phone'), phone, t('invite.phoneHint')),
    field(t('invite.email'), email),
    send,
    err,
    out,
  );
}

/** The invites not yet accepted, each with "revoke". */
function pendingInvites() {
  const list = h('div', { testid: 'invites-pending' });
  const load = async () => {
    try {
      const invites = await api('GET', '/api/invites?state=pending');
      mount(
        list,
        invites.length
          ? h(
              'ul.plain',
              invites.map((i) =>
                h(
                  'li.grant',
                  h('span', `${i.display_name} · ${t(`role.${i.role}`)} · ${placeName(i.place)} · ${t('invite.expires', { when: fmtTime(i.expires_at) })}`),
                  h('button.btn.small.secondary', {
                    type: 'button',
                    'aria-label': t('invite.revokeOne', { name: i.display_name }),
                    onclick: async () => {
                      try {
                        await api('POST', `/api/invites/${i.id}/revoke`);
                        load();
                      } catch (e) {
                        toast(errText(e));
                      }
                    },
                  }, t('invite.revoke')),
                ),
              ),
            )
          : h('p.empty', t('invite.none')),
      );
    } catch (e) {
      mount(list, h('p.error', errText(e)));
    }
  };
  load();
  return h('div', list, h('button.btn.small.secondary', { type: 'button', onclick: load }, t('refresh')));
}
