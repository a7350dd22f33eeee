// The bottom sheets: raising an issue (with the place picker), an issue action that needs a
// reason, progress with a photo, the reporter's rating, and opening a vote.

import { h, mount } from './dom.js';
import { t, getLang, placeName } from './i18n.js';
import { S, api, placeDetail, uploadPhoto } from './state.js';
import { RAISERS, raiseOnBehalf, issueActions } from './rules.js';
import { sheet, field, toast, errText, go } from './ui.js';
import { stateText } from './cards.js';

/** An issue action with a reason (dispatching has its own sheet, dispatch.js). */
export function openReasonSheet(issue, kind, label, build) {
  sheet(label, (body, close) => {
    const input = h('textarea', { testid: 'reason', rows: 3 });
    body.append(
      field(t('act.reason'), input),
      h('button.btn', {
        testid: 'sheet-submit',
        onclick: async () => {
          try {
            await S.client.issueAction(issue.id, build(input.value.trim()));
            close();
          } catch (e) {
            toast(errText(e));
          }
        },
      }, label),
    );
  });
}

export function openProgressSheet(issue) {
  sheet(t('act.progress'), (body, close) => {
    const text = h('textarea', { testid: 'progress-text', rows: 3 });
    const file = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', testid: 'progress-photo' });
    const err = h('div.error');
    const send = h('button.btn', {
      testid: 'progress-submit',
      onclick: async () => {
        send.disabled = true;
        try {
          // The assignee's photo shows the work done; anyone else's is evidence.
          if (file.files?.[0]) await uploadPhoto(issue.id, file.files[0], issue.assignee?.account_id === S.me.id ? 'after' : 'evidence');
          if (text.value.trim()) await S.client.issueAction(issue.id, { kind: 'post_update', text: text.value.trim() });
          close();
        } catch (e) {
          err.textContent = errText(e);
          send.disabled = false;
        }
      },
    }, t('send'));
    body.append(field(t('act.text'), text), field(t('act.afterPhoto'), file), err, send);
  });
}

/** The reporter's verdict: `resolved` rates the fix, otherwise "not fixed" reopens the issue. */
export function openRateSheet(issue, resolved) {
  sheet(resolved ? t('rate.title') : t('act.reopen'), (body, close) => {
    let stars = resolved ? 5 : 2;
    let satisfaction = resolved ? 'satisfied' : 'unsatisfied';
    const starRow = h('div.stars', { testid: 'stars' });
    const drawStars = () =>
      mount(starRow, [1, 2, 3, 4, 5].map((n) => h(`button${n <= stars ? '.on' : ''}`, { type: 'button', testid: `star-${n}`, 'aria-label': String(n), onclick: () => ((stars = n), drawStars()) }, '★')));
    drawStars();
    const seg = h('div.seg');
    const drawSeg = () =>
      mount(seg, ['satisfied', 'basic', 'unsatisfied'].map((k) => h(`button${k === satisfaction ? '.on' : ''}`, { type: 'button', onclick: () => ((satisfaction = k), drawSeg()) }, t(`rate.${k}`))));
    drawSeg();
    const comment = h('textarea', { testid: 'rate-comment', rows: 3 });
    const err = h('div.error');
    body.append(
      h('div.label', t('rate.stars')),
      starRow,
      h('div.label', t('rate.satisfaction')),
      seg,
      field(t('rate.comment'), comment),
      err,
      h('button.btn', {
        testid: 'rate-submit',
        onclick: async () => {
          const action = { kind: 'rate', resolved, stars, satisfaction };
          if (comment.value.trim()) action.comment = comment.value.trim();
          try {
            await S.client.issueAction(issue.id, action);
            close();
          } catch (e) {
            err.textContent = errText(e);
          }
        },
      }, t('rate.submit')),
    );
  });
}

/** A vote's question and options; `open(vote)` sends it (and reports its own errors). */
export function openVoteSheet(open) {
  sheet(t('room.openVote'), (body, close) => {
    const q = h('input', { testid: 'vote-question' });
    const opts = h('textarea', { testid: 'vote-options', rows: 3, value: getLang() === 'zh' ? '同意\n不同意\n弃权' : 'For\nAgainst\nAbstain' });
    const anon = h('input', { type: 'checkbox' });
    const hide = h('input', { type: 'checkbox' });
    body.append(
      field(t('room.question'), q),
      field(t('room.options'), opts),
      h('label.check', anon, t('room.anonymous')),
      h('label.check', hide, t('room.hide')),
      h('button.btn', {
        testid: 'vote-submit',
        onclick: async () => {
          await open({ question: q.value.trim(), options: opts.value.split('\n').map((o) => o.trim()).filter(Boolean), anonymous: anon.checked, hide_results: hide.checked });
          close();
        },
      }, t('room.openVote')),
    );
  });
}

/**
 * The building picker: from the caller's grant place down through its children (street →
 * communities → grids → buildings), one select a level. Issues are raised on a grid or a
 * building (PROTOCOL.md §10), so a grid's select offers "the whole grid" first and a street's or
 * community's asks for a choice; a building lead picks their building or the grid around it.
 * `onChange(id)` gets the chosen grid or building, or null while there is none.
 */
function placePicker(onChange) {
  const box = h('div.picker', { testid: 'raise-place' });
  const roots = [];
  for (const g of S.me.grants) if (RAISERS.includes(g.role) && g.place && !roots.some((p) => p.id === g.place.id)) roots.push(g.place);
  let chosen = null;
  // Bumped by every choice, so an expansion answered after a newer choice is dropped.
  let generation = 0;
  const choose = (id) => {
    const place = S.places.get(id);
    const next = place && ['grid', 'building'].includes(place.kind) ? id : null;
    if (next !== chosen) onChange((chosen = next));
  };
  /** A level: its options ({ place, expand, label }), the kind it lists and its placeholder. */
  const optionsUnder = async (node) => {
    const kids = (await placeDetail(node.id))?.children || [];
    if (node.kind === 'grid') {
      return { kind: 'building', options: [{ place: node, label: t('raise.wholeGrid', { name: placeName(node) }) }, ...kids.map((p) => ({ place: p }))] };
    }
    const kind = node.kind === 'street' ? 'community' : 'grid';
    return { kind, placeholder: t(`raise.pick.${kind}`), options: kids.map((p) => ({ place: p, expand: true })) };
  };
  const addLevel = async (depth, level, preselect) => {
    while (box.children.length > depth) box.lastElementChild?.remove();
    if (!level.options.length) return choose(null);
    const select = h(
      'select',
      { testid: `raise-${level.kind}`, 'aria-label': t(`raise.level.${level.kind}`) },
      level.placeholder && h('option', { value: '' }, level.placeholder),
      level.options.map((o) => h('option', { value: String(o.place.id) }, o.label || placeName(o.place))),
    );
    if (preselect) select.value = String(preselect);
    const picked = async () => {
      generation += 1;
      const id = Number(select.value);
      const option = level.options.find((o) => o.place.id === id);
      while (box.children.length > depth + 1) box.lastElementChild?.remove();
      choose(id || null);
      if (option?.expand) await expandFrom(option.place, depth + 1);
    };
    select.addEventListener('change', picked);
    box.append(select);
    await picked();
  };
  const expandFrom = async (node, depth) => {
    const mine = generation;
    const level = await optionsUnder(node);
    if (mine !== generation) return;
    // Only one grid in a community (or community in a street): it is picked already.
    const only = level.placeholder && level.options.length === 1 ? level.options[0].place.id : null;
    await addLevel(depth, level, only);
  };
  (async () => {
    if (roots.length === 1 && roots[0].kind !== 'building') return expandFrom(roots[0], 0);
    // A building lead: their building or the grid around it; several grants: one of them.
    const options = [];
    for (const root of roots) {
      if (root.kind === 'building') {
        const grid = S.places.get(root.parent_id);
        if (grid && roots.length === 1) options.push({ place: grid, label: t('raise.wholeGrid', { name: placeName(grid) }) });
        options.push({ place: root });
      } else options.push({ place: root, expand: true });
    }
    const kind = roots.length === 1 ? 'building' : 'scope';
    await addLevel(0, { kind, options }, roots.length === 1 ? roots[0].id : null);
  })().catch(() => {});
  return box;
}

export function openRaiseSheet() {
  sheet(t('raise'), (body, close) => {
    const category = h('select', { testid: 'raise-category' }, S.categories.map((c) => h('option', { value: c.code }, getLang() === 'zh' ? c.name_zh : c.name)));
    let placeId = null;
    const behalf = raiseOnBehalf();
    const onBehalf = behalf.offered ? h('input', { type: 'number', min: 1, testid: 'raise-on-behalf', inputMode: 'numeric' }) : null;
    const leadOnly = behalf.required;
    const title = h('input', { testid: 'raise-title', maxLength: 120 });
    const description = h('textarea', { testid: 'raise-description', rows: 3 });
    const photo = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', testid: 'raise-photo' });
    const pub = h('input', { type: 'checkbox', checked: true });
    const similar = h('div', { testid: 'similar' });
    const err = h('div.error', { testid: 'raise-error' });
    // Counts the lookups, so only the latest one's answer is shown.
    let asked = 0;
    const findSimilar = async () => {
      const mine = ++asked;
      mount(similar);
      if (!placeId || !category.value) return;
      try {
        const list = await api('GET', `/api/issues/similar?category=${encodeURIComponent(category.value)}&place_id=${placeId}`);
        if (!list.length || mine !== asked) return;
        mount(
          similar,
          h('div.label', t('raise.similar')),
          list.map((issue) =>
            h(
              'div.section',
              h('div', h('b', issue.title), ' ', h(`span.chip.${issue.state}`, stateText(issue))),
              // Only where the server allows it (not on one's own report, for one).
              issueActions({ issue }).includes('me_too') && h('button.btn.small.secondary', {
                testid: `metoo-${issue.id}`,
                onclick: async (e) => {
                  try {
                    await S.client.issueAction(issue.id, { kind: 'me_too', note: description.value.trim() || undefined });
                    /** @type {HTMLButtonElement} */ (e.target).textContent = t('raise.metooDone');
                  } catch (e2) {
                    toast(errText(e2));
                  }
                },
              }, t('raise.metoo')),
            ),
          ),
        );
      } catch {
        /* similar issues are a hint only */
      }
    };
    category.addEventListener('change', findSimilar);
    const picker = placePicker((id) => {
      placeId = id;
      findSimilar();
    });
    const submit = h('button.btn', {
      testid: 'raise-submit',
      onclick: async () => {
        err.textContent = '';
        if (!placeId || (leadOnly && !Number(onBehalf?.value))) {
          err.textContent = t(placeId ? 'raise.onBehalfNeeded' : 'raise.pickPlace');
          return;
        }
        submit.disabled = true;
        try {
          const issue = await S.http.submitIssue({
            category: category.value,
            title: title.value.trim(),
            description: description.value.trim(),
            place_id: placeId,
            public: pub.checked,
            on_behalf_of: Number(onBehalf?.value) || undefined,
          });
          if (photo.files?.[0]) await uploadPhoto(issue.id, photo.files[0], 'before');
          close();
          go(`#issue/${issue.id}`);
        } catch (e) {
          err.textContent = errText(e);
          submit.disabled = false;
        }
      },
    }, t('raise.submit'));
    body.append(
      field(t('raise.category'), category),
      field(t('raise.place'), picker),
      onBehalf ? field(t(leadOnly ? 'raise.onBehalfLead' : 'raise.onBehalf'), onBehalf) : '',
      field(t('raise.title'), title),
      field(t('raise.description'), description),
      field(t('raise.photo'), photo),
      h('label.check', pub, t('raise.public')),
      similar,
      err,
      h('div.actions', submit, h('button.btn.secondary', { type: 'button', onclick: close }, t('cancel'))),
    );
  });
}
