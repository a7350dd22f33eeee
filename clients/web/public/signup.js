// A resident signs up (reached from the sign-in page, `#signup`, or a building's poster link
// `#signup/<building id>`): phone number, an SMS code (`POST /api/sms/codes`, resendable after
// a countdown), password, name and building, picked street by street down the tree, which
// anyone may read (`GET /api/signup/places`), then `POST /api/signup`. The account is signed in at
// once and waits for an official of the community to approve it (residency.js).

import { h, mount } from './dom.js';
import { t, setLang, getLang, placeName } from './i18n.js';
import { adoptTokens, api } from './state.js';
import { field, errText } from './ui.js';

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

/** The label of a level of the building picker: the kinds it lists ("Compound / Grid"). */
function levelLabel(places) {
  return [...new Set(places.map((p) => p.kind))].map((k) => t(`kind.${k}`)).join(' / ');
}

/**
 * The building: one labelled select a level (street, community, compound if there is one, grid,
 * building), each filled from `GET /api/signup/places?parent=` once the level above is chosen; a
 * level above the buildings with a single place chooses it by itself. A building's poster link (`#signup/<id>`)
 * chooses that building at once (places above it cannot be read by id before signing in, so
 * it is named by its number), with a button to choose another through the selects.
 */
function buildingField(preset) {
  let chosen = Number(preset) || null;
  let generation = 0;
  const levels = h('div.picker');
  const status = h('div.hint', { testid: 'signup-building-status', role: 'status', 'aria-live': 'polite' });
  const box = h('fieldset.field.place-pick', { testid: 'signup-building' }, h('legend', t('signup.building')), levels, status);

  /** Shows the places under `parent` (the streets for null) as level `depth`. */
  const load = async (depth, parent) => {
    const mine = ++generation;
    while (levels.children.length > depth) levels.lastElementChild.remove();
    status.textContent = t('signup.loadingPlaces');
    status.classList.remove('error');
    let places;
    try {
      places = await api('GET', parent ? `/api/signup/places?parent=${parent.id}` : '/api/signup/places');
    } catch (e) {
      if (mine !== generation) return;
      status.textContent = errText(e);
      status.classList.add('error');
      status.append(' ', h('button.btn.small.secondary', { type: 'button', testid: 'signup-building-retry', onclick: () => load(depth, parent) }, t('retry')));
      return;
    }
    if (mine !== generation) return;
    status.textContent = '';
    if (!places.length) {
      status.textContent = t(parent ? 'signup.nothingUnder' : 'signup.noPlaces', { place: placeName(parent) });
      return;
    }
    const select = h(
      'select',
      { testid: `signup-place-${depth}`, dataset: { kinds: [...new Set(places.map((p) => p.kind))].join(' ') }, required: true },
      h('option', { value: '' }, t('picker.choose')),
      places.map((p) => h('option', { value: String(p.id) }, placeName(p))),
    );
    const pick = () => {
      const place = places.find((p) => p.id === Number(select.value)) || null;
      chosen = place?.kind === 'building' ? place.id : null;
      if (place && place.kind !== 'building') load(depth + 1, place);
      else {
        ++generation;
        while (levels.children.length > depth + 1) levels.lastElementChild.remove();
        status.textContent = '';
      }
    };
    select.addEventListener('change', pick);
    levels.append(field(levelLabel(places), select));
    // One place to choose above the buildings is chosen by itself; one's building never is.
    if (places.length === 1 && places[0].kind !== 'building') {
      select.value = String(places[0].id);
      pick();
    }
  };

  if (chosen) {
    const again = h('button.btn.small.secondary', {
      type: 'button',
      testid: 'signup-building-change',
      onclick: () => {
        chosen = null;
        linked.remove();
        load(0, null).then(() => levels.querySelector('select')?.focus());
      },
    }, t('signup.otherBuilding'));
    const linked = h('div.preset', { testid: 'signup-building-preset', dataset: { id: String(chosen) } }, h('span', t('signup.fromLink', { id: chosen })), ' ', again);
    levels.before(linked);
  } else {
    load(0, null);
  }
  // The first select still on "choose", for the error that asks to choose.
  const firstUnchosen = () => [...levels.querySelectorAll('select')].find((s) => !s.value);
  return { el: box, get: () => chosen, focus: () => firstUnchosen()?.focus() };
}

/** Draws the sign-up form into `root`; `start()` runs once signed in. */
export function showSignup(root, start, building) {
  const pc = phoneAndCode('signup', 'signup');
  const password = h('input', { type: 'password', autocomplete: 'new-password', testid: 'signup-password', required: true, minLength: 10, maxLength: 128 });
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
          place.focus();
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
