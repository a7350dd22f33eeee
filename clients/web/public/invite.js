// Accepting an invite (`#/invite/<code>`, the link an official sent, or the code typed on
// `#invite`): choose a username and a password (`POST /api/invites/accept`), signed in at once
// with the role the invite gives.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { adoptTokens, api } from './state.js';
import { field, errText } from './ui.js';
import { langButton } from './signup.js';

export function showInvite(root, start, code = '') {
  const codeInput = h('input', { testid: 'invite-code-input', value: code, required: true, autocomplete: 'off', spellcheck: false });
  const username = h('input', { testid: 'accept-username', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', testid: 'accept-password', autocomplete: 'new-password', required: true, minLength: 10, maxLength: 128 });
  const name = h('input', { testid: 'accept-name', autocomplete: 'name' });
  const err = h('div.error', { role: 'alert', testid: 'accept-error' });
  const submit = h('button.btn', { type: 'submit', testid: 'accept-submit' }, t('accept.submit'));
  const form = h(
    'form.login.aa',
    {
      testid: 'accept-invite',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        const body = { code: codeInput.value.trim(), username: username.value.trim(), password: password.value };
        if (name.value.trim()) body.display_name = name.value.trim();
        submit.disabled = true;
        try {
          adoptTokens(await api('POST', '/api/invites/accept', body));
          // The code is spent: keep it out of the address bar and the history.
          history.replaceState(null, '', location.pathname);
          await start();
        } catch (e2) {
          err.textContent = errText(e2);
          submit.disabled = false;
        }
      },
    },
    h('h1', t('accept.title')),
    h('p.hint', t('accept.intro')),
    field(t('accept.code'), codeInput),
    field(t('accept.username'), username, t('accept.usernameHint')),
    field(t('accept.password'), password, t('signup.passwordHint')),
    field(t('accept.name'), name, t('accept.nameHint')),
    err,
    submit,
    h('a.link', { href: '#', testid: 'to-login' }, t('signup.haveAccount')),
    langButton(() => showInvite(root, start, codeInput.value)),
  );
  root.className = 'app';
  mount(root, h('main.public', form));
}
