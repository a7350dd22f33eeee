// Passwords: "forgot password" before signing in (`#forgot`: an SMS code to the phone, or the
// one-time code an official made, then a new password: `POST /api/auth/reset`), and "change
// password" for the signed-in person (`POST /api/me/password`; their other sessions end).

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { api } from './state.js';
import { field, errText, toast } from './ui.js';
import { codeButton, langButton } from './signup.js';

/** Whether what was typed is a phone number rather than a username. */
const looksLikePhone = (s) => /^\+?[\d\s()-]{6,}$/.test(s);

export function showForgot(root) {
  const who = h('input', { testid: 'forgot-who', autocomplete: 'username', required: true });
  const code = h('input', { testid: 'forgot-code', autocomplete: 'one-time-code', required: true });
  const password = h('input', { type: 'password', testid: 'forgot-password', autocomplete: 'new-password', required: true, minLength: 10, maxLength: 128 });
  const status = h('div.hint', { role: 'status', 'aria-live': 'polite', testid: 'forgot-sms-status' });
  const err = h('div.error', { role: 'alert', testid: 'forgot-error' });
  const done = h('div', { role: 'status', testid: 'forgot-done' });
  const submit = h('button.btn', { type: 'submit', testid: 'forgot-submit' }, t('forgot.submit'));
  const form = h(
    'form.login.aa',
    {
      testid: 'forgot',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        const id = who.value.trim();
        const body = { code: code.value.trim(), new_password: password.value };
        if (looksLikePhone(id)) body.phone = id;
        else body.username = id;
        submit.disabled = true;
        try {
          await api('POST', '/api/auth/reset', body);
          mount(done, h('p', t('forgot.done')), h('a.btn', { href: '#', testid: 'forgot-to-login' }, t('login.submit')));
          password.value = code.value = '';
        } catch (e2) {
          err.textContent = errText(e2);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', t('forgot.title')),
    h('p.hint', t('forgot.intro')),
    field(t('forgot.who'), who),
    h('div.code-row', field(t('sms.code'), code), codeButton(who, 'reset', status, 'forgot-send-code')),
    status,
    field(t('forgot.password'), password, t('signup.passwordHint')),
    err,
    submit,
    done,
    h('a.link', { href: '#', testid: 'to-login' }, t('signup.haveAccount')),
    langButton(() => showForgot(root)),
  );
  root.className = 'app';
  mount(root, h('main.public', form));
}

/** The signed-in person's "change password" form. */
export function changePasswordForm() {
  const current = h('input', { type: 'password', testid: 'pw-current', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', testid: 'pw-new', autocomplete: 'new-password', required: true, minLength: 10, maxLength: 128 });
  const again = h('input', { type: 'password', testid: 'pw-again', autocomplete: 'new-password', required: true });
  const err = h('div.error', { role: 'alert', testid: 'pw-error' });
  return h(
    'form.subform',
    {
      testid: 'password-form',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        if (next.value !== again.value) {
          err.textContent = t('password.mismatch');
          return;
        }
        try {
          await api('POST', '/api/me/password', { current_password: current.value, new_password: next.value });
          current.value = next.value = again.value = '';
          toast(t('password.changed'));
        } catch (e2) {
          err.textContent = errText(e2);
        }
      },
    },
    h('h3', t('password.title')),
    h('p.hint', t('password.intro')),
    field(t('password.current'), current),
    field(t('password.new'), next, t('signup.passwordHint')),
    field(t('password.again'), again),
    err,
    h('button.btn', { type: 'submit', testid: 'pw-submit' }, t('password.submit')),
  );
}
