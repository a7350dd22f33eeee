// Dispatching an issue: pick the worker by name from the staff who may take an issue at its
// place (`GET /api/places/{id}/staff`), each with how many open issues they hold now. When the
// directory cannot be read, the account number can still be typed.

import { h, mount } from './dom.js';
import { t, placeName } from './i18n.js';
import { S, api } from './state.js';
import { sheet, field, errText } from './ui.js';

export function openDispatchSheet(issue, label) {
  sheet(label, (body, close) => {
    body.classList.add('aa');
    const list = h('div', { testid: 'staff-list' }, h('p.empty', t('loading')));
    const err = h('div.error', { role: 'alert', testid: 'dispatch-error' });
    let chosen = null;
    let typed = null;
    const send = h('button.btn', {
      testid: 'sheet-submit',
      onclick: async () => {
        err.textContent = '';
        const assignee = chosen ?? Number(typed?.value);
        if (!assignee) {
          err.textContent = t('dispatch.pick');
          return;
        }
        send.disabled = true;
        try {
          await S.client.issueAction(issue.id, { kind: 'dispatch', assignee });
          close();
        } catch (e) {
          err.textContent = errText(e);
          send.disabled = false;
        }
      },
    }, label);
    body.append(list, err, send);
    api('GET', `/api/places/${issue.place_id}/staff`)
      .then((staff) => {
        if (!staff.length) {
          mount(list, h('p.empty', t('dispatch.none')));
          return;
        }
        // Workers first, then by load: the least busy first.
        const rank = { grid_worker: 0, community_official: 1, street_chief: 2 };
        staff.sort((a, b) => (rank[a.role] ?? 3) - (rank[b.role] ?? 3) || a.open_issues - b.open_issues);
        mount(
          list,
          h(
            'fieldset.staff',
            h('legend', t('dispatch.who')),
            staff.map((m) =>
              h(
                'label.staff-row',
                { testid: `staff-${m.account}` },
                h('input', { type: 'radio', name: 'assignee', value: String(m.account), onchange: () => (chosen = m.account) }),
                h(
                  'span.staff-text',
                  h('span.name', m.display_name, m.romanised_name && !m.display_name.includes(m.romanised_name) && ` (${m.romanised_name})`),
                  h('span.meta', `${t(`role.${m.role}`)} · ${placeName(m.place)}`),
                ),
                h('span.load', { testid: 'staff-load' }, t('dispatch.load', { n: m.open_issues })),
              ),
            ),
          ),
        );
      })
      .catch((e) => {
        typed = h('input', { type: 'number', min: 1, inputMode: 'numeric', testid: 'reason' });
        mount(list, h('p.hint', t('dispatch.noDirectory', { why: errText(e) })), field(t('act.assignee'), typed));
      });
  });
}
