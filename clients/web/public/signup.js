// A resident signs up (reached from the sign-in page, `#signup`, or a building's poster link
// `#signup/<building id>`): phone number, an SMS code (`POST /api/sms/codes`, resendable after
// a countdown), password, name and building (`POST /api/signup`). The account is signed in at
// once and waits for an official of the community to approve it (residency.js).

import { h, mount } from './dom.js';
import { t, setLang, getLang } from './i18n.js';
import { adoptTokens, api } from './state.js';
import { field, errText } from './ui.js';
import { placePicker } from './place-picker.js';

/**
 * A "send code" button for the number in `phone` (purpose `signup` or `reset`): after a send it
 * counts down the server's `resend_after` seconds; `status` tells what happened (polite live).
 */
export function codeButton(phone, purpose, status, testid) {
  let timer = 0;
  const button = h('button.btn.secondary', {
    type: 'button',
    testid,
    onclick: async () => {
      status.textContent = '';
      status.classList.remove('error');
      if (!phone.value.trim()) {
        status.textContent = t('sms.phoneFirst');
        status.classList.add('error');
        phone.focus();
        return;
      }
      button.disabled = true;
      try {
        const r = await api('POST', '/api/sms/codes', { phone: phone.value.trim(), purpose });
        status.textContent = t('sms.sent', { minutes: Math.max(1, Math.round((r.expires_in || 600) / 60)) });
        countdown(r.resend_after || 60);
      } catch (e) {
        status.textContent = errText(e);
        status.classList.add('error');
        // A rate limit says when to try again; otherwise the button is free at once.
        button.disabled = false;
      }
    },
  }, t('sms.send'));
  const countdown = (seconds) => {
    clearInterval(timer);
    let left = Math.ceil(seconds);
    const tick = () => {
      if (!button.isConnected || left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        button.textContent = t('sms.resend');
        return;
      }
      button.disabled = true;
      button.textContent = t('sms.wait', { s: left });
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  };
  return button;
}

/** The phone number, its code button and the code, as one group of fields. */
export function phoneAndCode(purpose, prefix) {
  const phone = h('input', { type: 'tel', autocomplete: 'tel', inputMode: 'tel', testid: `${prefix}-phone`, required: true });
  const code = h('input', { autocomplete: 'one-time-code', inputMode: 'numeric', testid: `${prefix}-code`, required: true, maxLength: 8 });
  const status = h('div.hint', { testid: `${prefix}-sms-status`, role: 'status', 'aria-live': 'polite' });
  const send = codeButton(phone, purpose, status, `${prefix}-send-code`);
  const el = h('div', field(t('sms.phone'), phone), h('div.code-row', field(t('sms.code'), code), send), status);
  return { el, phone, code };
}

/** The building: a picker when places can be read before signing in, else its number. */
function buildingField(preset) {
  let chosen = preset ? Number(preset) : null;
  const holder = h('div');
  const typed = h('input', { type: 'number', min: 1, inputMode: 'numeric', testid: 'signup-building', value: preset || '' });
  typed.addEventListener('input', () => (chosen = Number(typed.value) || null));
  // The number field first (the poster's link fills it); a picker replaces it if the server
  // lets places be read before signing in.
  mount(holder, field(t('signup.building'), typed, t('signup.buildingHint')));
  if (!preset) {
    api('GET', '/api/places')
      .then((roots) => mount(holder, field(t('signup.building'), placePicker({ kinds: ['building'], roots, testid: 'signup-building-pick', label: t('signup.building'), onChange: (p) => (chosen = p?.id ?? null) }))))
      .catch(() => {});
  }
  return { el: holder, get: () => chosen };
}

/** Draws the sign-up form into `root`; `start()` runs once signed in. */
export function showSignup(root, start, building) {
  const pc = phoneAndCode('signup', 'signup');
  const password = h('input', { type: 'password', autocomplete: 'new-password', testid: 'signup-password', required: true, minLength: 8 });
  const name = h('input', { autocomplete: 'name', testid: 'signup-name', required: true });
  const romanised = h('input', { autocomplete: 'off', testid: 'signup-romanised', lang: 'en' });
  const place = buildingField(building);
  const err = h('div.error', { role: 'alert', testid: 'signup-error' });
  const submit = h('button.btn', { type: 'submit', testid: 'signup-submit' }, t('signup.submit'));
  const form = h(
    'form.login.aa',
    {
      testid: 'signup',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        if (!place.get()) {
          err.textContent = t('signup.pickBuilding');
          return;
        }
        const body = { phone: pc.phone.value.trim(), code: pc.code.value.trim(), password: password.value, display_name: name.value.trim(), building: place.get() };
        if (romanised.value.trim()) body.romanised_name = romanised.value.trim();
        submit.disabled = true;
        try {
          adoptTokens(await api('POST', '/api/signup', body));
          history.replaceState(null, '', location.pathname);
          await start();
        } catch (e2) {
          err.textContent = errText(e2);
          submit.disabled = false;
        }
      },
    },
    h('h1', t('signup.title')),
    h('p.hint', t('signup.intro')),
    pc.el,
    field(t('signup.password'), password, t('signup.passwordHint')),
    field(t('signup.name'), name),
    field(t('signup.romanised'), romanised),
    place.el,
    err,
    submit,
    h('a.link', { href: '#', testid: 'to-login' }, t('signup.haveAccount')),
    langButton(() => showSignup(root, start, building)),
  );
  root.className = 'app';
  mount(root, h('main.public', form));
}

/** The language switch of the screens before sign-in; `redraw` draws the screen again. */
export function langButton(redraw) {
  return h('button.btn.secondary', { type: 'button', testid: 'lang', onclick: () => (setLang(getLang() === 'zh' ? 'en' : 'zh'), redraw()) }, t('lang.toggle'));
}
