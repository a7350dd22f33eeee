// The signed-in person's own account (`#account`): name and romanised name (`PATCH /api/me`),
// change password, for residents their building, and the way to the notification settings.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { S, api, hasRole } from './state.js';
import { header, field, errText, toast } from './ui.js';
import { changePasswordForm } from './password.js';
import { residencySection } from './residency.js';

export function accountView(main) {
  const name = h('input', { testid: 'me-name', value: S.me.display_name, required: true, autocomplete: 'name' });
  const romanised = h('input', { testid: 'me-romanised', value: S.me.romanised_name || '', autocomplete: 'off', lang: 'en' });
  const err = h('div.error', { role: 'alert' });
  const profile = h(
    'form.section',
    {
      testid: 'profile-form',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        const body = { display_name: name.value.trim() };
        if (romanised.value.trim()) body.romanised_name = romanised.value.trim();
        try {
          const me = await api('PATCH', '/api/me', body);
          S.me = { ...S.me, ...me };
          toast(t('account.saved'));
        } catch (e2) {
          err.textContent = errText(e2);
        }
      },
    },
    h('h3', t('account.profile')),
    h('p.hint', `${t('people.username')}: ${S.me.username}`),
    field(t('signup.name'), name),
    field(t('signup.romanised'), romanised),
    err,
    h('button.btn', { type: 'submit', testid: 'me-save' }, t('save')),
  );
  main.classList.add('aa');
  mount(
    main,
    header(t('account.title')),
    h('main.scroll', h('div.page', { testid: 'account' }, profile, notifySection(), h('div.section', changePasswordForm()), (hasRole('resident') || !S.me.grants.length) && residencySection())),
  );
  return { cleanup: () => main.classList.remove('aa') };
}

function notifySection() {
  return h('div.section', h('h3', t('prefs.title')), h('p.hint', t('prefs.channelsHint')), h('a.link', { href: '#account/notify', testid: 'open-notify-prefs' }, t('prefs.open')));
}
