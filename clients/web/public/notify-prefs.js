// Notification settings (`#account/notify`, from "Me"): the language notifications are written
// in, quiet hours, which kinds go to which channel beyond the inbox (push, the SMS / WeChat
// relay, email) from `GET /api/me/notify-prefs`, each change saved with
// `PATCH /api/me/notify-prefs`, and Web Push for this browser through push.js.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { api } from './state.js';
import { header, field, errText } from './ui.js';

const CHANNELS = ['push', 'webhook', 'email'];
// The kinds in the order of protocol/src/notify.rs `NotificationKind::ALL`.
const KINDS = [
  'issue_update', 'issue_to_rate', 'issue_new', 'issue_assigned', 'issue_reopened', 'issue_deadline_warning',
  'issue_deadline_breach', 'issue_escalated', 'meeting_scheduled', 'meeting_moved', 'meeting_cancelled',
  'meeting_starting', 'meeting_started', 'meeting_ended', 'appraisal_opened', 'appraisal_closing', 'digest',
];

/** A kind's label; a kind this client does not know yet keeps its code. */
function kindLabel(kind) {
  const key = `nkind.${kind}`;
  return t(key) === key ? kind : t(key);
}

/**
 * push.js (Web Push and its service worker) loaded when the screen opens, so that a browser
 * or a build without it still gets the rest of the settings.
 */
async function pushModule() {
  try {
    return await import('./push.js');
  } catch {
    return null;
  }
}

export function notifyPrefsView(main) {
  const page = h('div.page', { testid: 'notify-prefs' }, h('div.empty', t('loading')));
  const status = h('p.hint', { role: 'status', testid: 'prefs-status' });
  const err = h('div.error', { role: 'alert', testid: 'prefs-error' });
  const heading = h('h2.sr-only', { tabindex: '-1' }, t('prefs.title'));
  let prefs = null;
  let closed = false;

  /** PATCH `body`; the answer is the settings as saved. Throws after showing the sentence. */
  const save = async (body) => {
    err.textContent = '';
    status.textContent = '';
    try {
      prefs = await api('PATCH', '/api/me/notify-prefs', body);
      status.textContent = t('prefs.saved');
      return prefs;
    } catch (e) {
      err.textContent = errText(e);
      throw e;
    }
  };

  const languageSection = () => {
    const select = h(
      'select',
      {
        testid: 'prefs-language',
        onchange: async () => {
          const was = prefs.language;
          await save({ language: select.value }).catch(() => (select.value = was));
        },
      },
      ['zh', 'en'].map((l) => h('option', { value: l, selected: prefs.language === l, lang: l === 'zh' ? 'zh-CN' : 'en' }, t(`prefs.lang.${l}`))),
    );
    return h('section.section', h('h3', t('prefs.language')), field(t('prefs.language'), select, t('prefs.languageHint')));
  };

  const quietSection = () => {
    const q = prefs.quiet_hours;
    const on = h('input', { type: 'checkbox', testid: 'quiet-on', checked: Boolean(q), id: 'quiet-on' });
    const start = h('input', { type: 'time', testid: 'quiet-start', value: q?.start || '22:00', disabled: !q });
    const end = h('input', { type: 'time', testid: 'quiet-end', value: q?.end || '07:00', disabled: !q });
    on.addEventListener('change', () => {
      start.disabled = !on.checked;
      end.disabled = !on.checked;
    });
    return h(
      'form.section',
      {
        testid: 'quiet-form',
        onsubmit: async (e) => {
          e.preventDefault();
          if (on.checked && (!start.value || !end.value)) {
            err.textContent = t('prefs.quietMissing');
            (start.value ? end : start).focus();
            return;
          }
          await save({ quiet_hours: on.checked ? { start: start.value, end: end.value } : null }).catch(() => {});
        },
      },
      h('h3', t('prefs.quiet')),
      h('p.hint', { id: 'quiet-hint' }, t('prefs.quietHint')),
      h('label.check', { htmlFor: 'quiet-on' }, on, t('prefs.quietOn')),
      h('div.quiet-times', field(t('prefs.quietStart'), start), field(t('prefs.quietEnd'), end)),
      h('div.actions', h('button.btn', { type: 'submit', testid: 'quiet-save' }, t('prefs.quietSave'))),
    );
  };

  const pushSection = () => {
    const box = h('section.section', { testid: 'push-section' }, h('h3', t('prefs.push')), h('p.hint', t('loading')));
    const draw = async (focusButton = false) => {
      const push = await pushModule();
      const state = push && push.pushSupported() ? await push.pushState() : 'unsupported';
      if (closed) return;
      const button = (label, testid, fn) =>
        h(
          'button.btn',
          {
            type: 'button',
            testid,
            onclick: async (e) => {
              err.textContent = '';
              status.textContent = '';
              e.currentTarget.disabled = true;
              try {
                await fn(api);
                prefs = await api('GET', '/api/me/notify-prefs');
                status.textContent = t(testid === 'push-enable' ? 'prefs.pushEnabled' : 'prefs.pushDisabled');
              } catch (e2) {
                err.textContent = errText(e2);
              }
              draw(true);
            },
          },
          label,
        );
      const sentence = { on: 'prefs.pushOn', off: 'prefs.pushOff', denied: 'prefs.pushDenied', unsupported: 'prefs.pushUnsupported' }[state] || 'prefs.pushUnsupported';
      mount(
        box,
        h('h3', t('prefs.push')),
        h('p.hint', { testid: 'push-state', dataset: { state } }, t(sentence)),
        prefs.push_subscriptions > 0 && h('p.hint', t('prefs.pushCount', { n: prefs.push_subscriptions })),
        state === 'off' && button(t('prefs.pushEnable'), 'push-enable', push.enablePush),
        state === 'on' && button(t('prefs.pushDisable'), 'push-disable', push.disablePush),
      );
      // The button pressed is replaced: the keyboard stays in the section.
      if (focusButton) (box.querySelector('button') || box.querySelector('[data-testid="push-state"]'))?.focus?.();
    };
    draw();
    return box;
  };

  const channelsSection = () => {
    const unavailable = { webhook: !prefs.has_phone, email: !prefs.has_email };
    const choice = new Map(prefs.choices.map((c) => [`${c.kind}/${c.channel}`, c]));
    const kinds = [...new Set([...KINDS.filter((k) => prefs.choices.some((c) => c.kind === k)), ...prefs.choices.map((c) => c.kind)])];
    const notes = [];
    if (unavailable.webhook) notes.push(h('p.hint', { id: 'why-webhook', testid: 'why-webhook' }, t('prefs.noPhone')));
    if (unavailable.email) notes.push(h('p.hint', { id: 'why-email', testid: 'why-email' }, t('prefs.noEmail')));
    const cell = (kind, channel) => {
      const c = choice.get(`${kind}/${channel}`);
      if (!c) return h('td', h('span', { 'aria-hidden': 'true' }, '—'));
      const box = h('input', {
        type: 'checkbox',
        testid: `pref-${kind}-${channel}`,
        checked: c.enabled,
        disabled: Boolean(unavailable[channel]),
        'aria-label': t('prefs.toggle', { kind: kindLabel(kind), channel: t(`channel.${channel}`) }),
        'aria-describedby': unavailable[channel] ? `why-${channel}` : null,
        onchange: async () => {
          const enabled = box.checked;
          try {
            await save({ choices: [{ kind, channel, enabled }] });
          } catch {
            box.checked = !enabled;
          }
        },
      });
      return h('td', box);
    };
    return h(
      'section.section',
      h('h3', t('prefs.channels')),
      h('p.hint', t('prefs.channelsHint')),
      h(
        'div.table-wrap',
        h(
          'table.prefs-table',
          { testid: 'prefs-table' },
          h('caption.sr-only', t('prefs.table')),
          h('thead', h('tr', h('th', { scope: 'col' }, t('prefs.kind')), CHANNELS.map((ch) => h('th', { scope: 'col', class: unavailable[ch] ? 'off' : null }, t(`channel.${ch}`))))),
          h('tbody', kinds.map((kind) => h('tr', h('th', { scope: 'row' }, kindLabel(kind)), CHANNELS.map((ch) => cell(kind, ch))))),
        ),
      ),
      notes,
    );
  };

  // The outcome of a change stays in sight at the bottom of the screen, wherever the change was.
  const render = () => mount(page, heading, languageSection(), quietSection(), pushSection(), channelsSection(), h('div.prefs-status', err, status));

  main.classList.add('aa');
  mount(main, header(t('prefs.title')), h('main.scroll', page));
  api('GET', '/api/me/notify-prefs')
    .then((p) => {
      if (closed) return;
      prefs = p;
      render();
      heading.focus({ preventScroll: true });
    })
    .catch((e) => {
      if (closed) return;
      err.textContent = errText(e);
      mount(page, heading, err, h('a.link', { href: '#account' }, t('account.title')));
      heading.focus({ preventScroll: true });
    });
  return {
    cleanup: () => {
      closed = true;
      main.classList.remove('aa');
    },
  };
}
