// The living room (a meeting): agenda, floor, participants with their badges, hands, chat,
// votes with live tallies, minutes, and the chair's controls. The room is folded from its log
// (`GET /api/meetings/{id}`), then kept up to date by the `room:<id>` channel's events.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { S, api } from './state.js';
import { roomActions } from './rules.js';
import { header, bubble, toast, errText } from './ui.js';
import { openVoteSheet } from './sheets.js';
import { renderList } from './chats.js';

/** Meeting `id`'s room, drawn into `main`. */
export function roomView(main, id) {
  const channel = `room:${id}`;
  const page = h('div.page', { testid: 'room' }, h('div.empty', t('loading')));
  let detail = null;
  let sub = null;
  let removed = false;
  let closed = false;
  const said = [];
  const myBallots = new Set();
  // Events that come before the room is loaded; applied once it is.
  const buffered = [];
  const name = (aid) => (aid === S.me.id ? `${S.me.display_name}${t('room.you')}` : S.names.get(aid) || `#${aid}`);
  const input = h('input', { testid: 'composer-input', maxLength: 2000 });
  const sendBtn = h('button.btn', { testid: 'composer-send' }, t('send'));
  const composer = h(
    'form.composer',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        try {
          await S.client.roomAction(id, { kind: 'say', text });
          input.value = '';
        } catch (e2) {
          toast(errText(e2));
        }
      },
    },
    input,
    sendBtn,
  );
  const roomAct = async (action) => {
    try {
      await S.client.roomAction(id, action);
      if (action.kind === 'cast_vote') myBallots.add(action.vote);
    } catch (e) {
      toast(errText(e));
    }
  };
  /** Folds one log entry into the room, as the server does; older entries are skipped. */
  const apply = (entry) => {
    const room = detail.room;
    if (entry.seq <= room.seq) return;
    room.seq = entry.seq;
    const d = entry.data || {};
    const drop = (list, who) => list.filter((x) => x !== who);
    switch (entry.kind) {
      case 'published': room.state = 'published'; break;
      case 'cancelled': room.state = 'cancelled'; break;
      case 'started': room.state = 'live'; break;
      case 'ended': room.state = 'ended'; room.floor = undefined; room.hands = []; room.votes.forEach((v) => (v.open = false)); break;
      case 'minutes_published': room.state = 'closed'; detail.meeting.minutes = d.text; break;
      case 'minutes_appended': room.minutes.push(d.text); break;
      case 'locked': room.locked = true; break;
      case 'unlocked': room.locked = false; break;
      case 'mode_set': room.mode = d.mode; break;
      case 'hand_raised': room.hands = [...drop(room.hands, d.who), d.who]; break;
      case 'hand_lowered': room.hands = drop(room.hands, d.who); break;
      case 'floor_given': room.floor = d.to; room.hands = drop(room.hands, d.to); break;
      case 'floor_taken': room.floor = undefined; break;
      case 'muted': room.muted = [...drop(room.muted, d.who), d.who]; break;
      case 'unmuted': room.muted = drop(room.muted, d.who); break;
      case 'removed': room.hands = drop(room.hands, d.who); if (room.floor === d.who) room.floor = undefined; break;
      case 'said': said.push(entry); break;
      case 'agenda_item_set': room.agenda_item = d.index; break;
      case 'vote_opened': room.votes.push({ ...d.vote, counts: d.vote.hide_results ? undefined : d.vote.options.map(() => 0), ballots: 0 }); break;
      case 'vote_cast': {
        const v = room.votes.find((x) => x.id === d.vote);
        if (v) v.ballots += 0; // the tally event carries the count
        if (d.voter === S.me.id) myBallots.add(d.vote);
        break;
      }
      case 'vote_closed': { const v = room.votes.find((x) => x.id === d.vote); if (v) v.open = false; break; }
      default: break;
    }
  };
  /**
   * Whether an entry changes what the caller may do beyond the meeting's state, which
   * `allowed_actions` already covers: it names them (muted, unmuted, removed, readmitted, given
   * the floor, or losing it). A change of mode is not one: `say` stays allowed and the server
   * refuses it to all but the speaker and the chair. Asked before the entry is folded, while
   * the room still says who held the floor.
   */
  const concernsMe = (entry) => {
    const d = entry.data || {};
    const me = S.me.id;
    switch (entry.kind) {
      case 'muted':
      case 'unmuted':
      case 'removed':
      case 'readmitted':
        return d.who === me;
      case 'floor_given':
        return d.to === me || detail.room.floor === me;
      case 'floor_taken':
        return detail.room.floor === me;
      default:
        return false;
    }
  };
  const onEvent = (ev) => {
    if (!detail) return buffered.push(ev);
    if (ev.kind === 'room.event') {
      const mine = ev.data.seq > detail.room.seq && concernsMe(ev.data);
      apply(ev.data);
      if (mine) rereadAllowed();
    } else if (ev.kind === 'room.tally' || ev.kind === 'room.vote_result') {
      const v = detail.room.votes.find((x) => x.id === ev.data.vote);
      if (v) { v.counts = ev.data.counts; v.ballots = ev.data.ballots; if (ev.kind === 'room.vote_result') v.open = false; }
    }
    render();
  };
  const onPresence = (change) => {
    for (const m of change.members) S.names.set(m.account_id, m.name);
    render();
  };
  const onEnded = () => {
    removed = true;
    render();
  };
  const render = () => {
    if (!detail) return;
    const { meeting, room } = detail;
    // The chat list shows the meeting's state: keep it in step with the room.
    const listed = S.chats.get(channel);
    if (listed?.meeting && listed.meeting.state !== room.state) {
      listed.meeting = { ...listed.meeting, state: room.state };
      renderList();
    }
    const allowed = roomActions(detail);
    const live = room.state === 'live';
    const muted = room.muted.includes(S.me.id);
    const members = sub ? sub.members : [];
    const ids = [...new Set([...members.map((m) => m.account_id), meeting.chair])];
    input.disabled = !allowed.has('say') || removed;
    sendBtn.disabled = input.disabled;
    input.placeholder = muted ? t('composer.muted') : removed ? t('room.removed') : live ? t('composer.placeholder') : t(`room.state.${room.state}`);
    composer.dataset.muted = String(muted);
    const person = (aid) =>
      h(
        'div.person',
        { testid: `person-${aid}`, dataset: { muted: String(room.muted.includes(aid)) } },
        h('span.name', name(aid)),
        aid === meeting.chair && h('span.tag.chair', t('room.chair')),
        room.floor === aid && h('span.tag.floor', t('room.speaking')),
        room.hands.includes(aid) && h('span.tag.hand', t('room.hand')),
        room.muted.includes(aid) && h('span.tag.muted', t('room.muted')),
        aid !== meeting.chair && [
          allowed.has('give_floor') && h('button.btn.small.secondary', { testid: `floor-${aid}`, onclick: () => roomAct({ kind: 'give_floor', to: aid }) }, t('room.giveFloor')),
          room.muted.includes(aid)
            ? allowed.has('unmute') && h('button.btn.small.secondary', { testid: `unmute-${aid}`, onclick: () => roomAct({ kind: 'unmute', who: aid }) }, t('room.unmute'))
            : allowed.has('mute') && h('button.btn.small.secondary', { testid: `mute-${aid}`, onclick: () => roomAct({ kind: 'mute', who: aid }) }, t('room.mute')),
          allowed.has('remove') && h('button.btn.small.danger', { testid: `remove-${aid}`, onclick: () => roomAct({ kind: 'remove', who: aid }) }, t('room.remove')),
        ],
      );
    // One ballot each: the buttons go once mine is cast.
    const mayCast = (v) => v.open && allowed.has('cast_vote') && !myBallots.has(v.id);
    const voteBox = (v) =>
      h(
        'div.section',
        { testid: `vote-${v.id}` },
        h('h3', v.question, v.open ? '' : ` · ${t('room.closeVote')}`),
        v.options.map((opt, i) => {
          const count = v.counts?.[i];
          const share = v.ballots && count !== undefined ? Math.round((100 * count) / v.ballots) : 0;
          const meter = h('div.meter', h('div'));
          /** @type {HTMLElement} */ (meter.firstChild).style.width = `${share}%`; // CSSOM, allowed by the CSP
          return h(
            'div.vote-opt',
            mayCast(v) && !v.multiple && h('button.btn.small', { testid: `cast-${v.id}-${i}`, onclick: () => roomAct({ kind: 'cast_vote', vote: v.id, choices: [i] }) }, t('room.cast')),
            h('span', opt),
            count !== undefined && meter,
            count !== undefined && h('span', String(count)),
          );
        }),
        mayCast(v) && v.multiple && multiBallot(v),
        h('div.card-meta', t('room.ballots', { n: v.ballots }), v.counts ? '' : ` · ${t('room.hidden')}`),
        allowed.has('close_vote') && v.open && h('button.btn.small.secondary', { testid: `close-vote-${v.id}`, onclick: () => roomAct({ kind: 'close_vote', vote: v.id }) }, t('room.closeVote')),
      );
    const multiBallot = (v) => {
      const boxes = v.options.map((opt, i) => h('input', { type: 'checkbox', value: String(i) }));
      return h(
        'div',
        boxes.map((box, i) => h('label.check', box, v.options[i])),
        h('button.btn.small', {
          testid: `cast-${v.id}`,
          onclick: () => roomAct({ kind: 'cast_vote', vote: v.id, choices: boxes.filter((b) => b.checked).map((b) => Number(b.value)) }),
        }, t('room.cast')),
      );
    };
    const minutesInput = h('input', { testid: 'minutes-input' });
    mount(
      page,
      removed && h('div.section.error', { testid: 'removed' }, t('room.removed')),
      h(
        'div.section',
        h('div.card-head', h('span.card-title', meeting.title), h('span.chip', { testid: 'room-state', dataset: { state: room.state } }, t(`room.state.${room.state}`)), room.locked && h('span.chip', t('room.locked'))),
        meeting.description && h('div.card-meta', meeting.description),
        meeting.agenda.length > 0 && h('ol', meeting.agenda.map((a, i) => h(i === room.agenda_item ? 'li.card-title' : 'li', a))),
        h('div', { testid: 'floor' }, room.floor ? t('room.floor', { name: name(room.floor) }) : t('room.noFloor')),
        h(
          'div.actions',
          !removed && (room.hands.includes(S.me.id)
            ? allowed.has('lower_hand') && h('button.btn.small.secondary', { testid: 'lower-hand', onclick: () => roomAct({ kind: 'lower_hand' }) }, t('room.lower'))
            : allowed.has('raise_hand') && room.floor !== S.me.id && h('button.btn.small', { testid: 'raise-hand', onclick: () => roomAct({ kind: 'raise_hand' }) }, t('room.raise'))),
          allowed.has('start') && h('button.btn.small', { testid: 'room-start', onclick: () => roomAct({ kind: 'start' }) }, t('room.start')),
          allowed.has(room.locked ? 'unlock' : 'lock') && h('button.btn.small.secondary', { testid: 'room-lock', onclick: () => roomAct({ kind: room.locked ? 'unlock' : 'lock' }) }, room.locked ? t('room.unlock') : t('room.lock')),
          allowed.has('set_mode') && h('button.btn.small.secondary', { testid: 'room-mode', onclick: () => roomAct({ kind: 'set_mode', mode: room.mode === 'open' ? 'floor_only' : 'open' }) }, room.mode === 'open' ? t('room.modeFloor') : t('room.modeOpen')),
          allowed.has('take_floor') && room.floor && h('button.btn.small.secondary', { testid: 'take-floor', onclick: () => roomAct({ kind: 'take_floor' }) }, t('room.takeFloor')),
          allowed.has('give_floor') && room.hands.length > 0 && h('button.btn.small', { testid: 'give-floor-next', onclick: () => roomAct({ kind: 'give_floor' }) }, t('room.giveFloor')),
          allowed.has('open_vote') && h('button.btn.small', { testid: 'open-vote', onclick: () => openVoteSheet((vote) => roomAct({ kind: 'open_vote', vote })) }, t('room.openVote')),
          allowed.has('end') && h('button.btn.small.danger', { testid: 'room-end', onclick: () => roomAct({ kind: 'end' }) }, t('room.end')),
        ),
      ),
      h(
        'div.room-grid',
        h('div.msgs', { testid: 'room-messages' }, said.length ? said.map((e) => bubble({ name: name(e.data.who) }, e.data.text, e.time, e.data.who === S.me.id)) : h('div.empty', t('chat.empty'))),
        h(
          'div.room-side',
          h('div.section', h('h3', { testid: 'participants' }, t('room.participants', { n: members.length })), h('div.people', ids.map(person))),
          room.votes.map(voteBox),
          h(
            'div.section',
            h('h3', t('room.minutes')),
            (meeting.minutes ? [meeting.minutes] : room.minutes).map((p) => h('p', p)),
            allowed.has('append_minutes') && h('div.composer', minutesInput, h('button.btn.small', { onclick: () => minutesInput.value.trim() && roomAct({ kind: 'append_minutes', text: minutesInput.value.trim() }) }, t('room.appendMinutes'))),
            allowed.has('publish_minutes') && h('button.btn.small', { onclick: () => roomAct({ kind: 'publish_minutes', text: room.minutes.join('\n\n') || meeting.title }) }, t('room.publishMinutes')),
          ),
        ),
      ),
    );
  };
  mount(main, header(t('chat.room', { name: S.chats.get(channel)?.meeting?.title || `#${id}` })), h('div.scroll', page), composer);
  (async () => {
    try {
      sub = S.client.subscription(channel);
      if (!sub) sub = await S.client.subscribe(channel, { onReset: () => reload() });
      if (closed) return;
      sub.on('event', onEvent);
      sub.on('presence', onPresence);
      sub.on('ended', onEnded);
      for (const m of sub.members) S.names.set(m.account_id, m.name);
      await reload();
    } catch (e) {
      if (e.code === 'forbidden') removed = true;
      mount(page, h('div.error', { testid: 'room-error' }, errText(e)));
      input.disabled = true;
    }
  })();
  // What the caller may do, read again after an entry that changed it; only `allowed_actions` is
  // taken, as the room goes on being folded from the channel meanwhile. One read at a time, and
  // one more after it when another such entry came during it.
  let reading = false;
  let again = false;
  async function rereadAllowed() {
    if (closed) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      const fresh = await api('GET', `/api/meetings/${id}`);
      if (detail && !closed) {
        detail.allowed_actions = fresh.allowed_actions;
        render();
      }
    } catch {
      // The buttons stay as they were; the server still refuses what it does not allow.
    } finally {
      reading = false;
      if (again) {
        again = false;
        rereadAllowed();
      }
    }
  }
  async function reload() {
    const fresh = await api('GET', `/api/meetings/${id}`);
    said.length = 0;
    for (const e of fresh.log) {
      if (e.kind === 'said') said.push(e);
      if (e.kind === 'vote_cast' && e.data?.voter === S.me.id) myBallots.add(e.data.vote);
    }
    detail = fresh;
    const title = main.querySelector('[data-testid="view-title"]');
    if (title) title.textContent = t('chat.room', { name: fresh.meeting.title });
    for (const ev of buffered.splice(0)) onEvent(ev);
    render();
  }
  return {
    refresh: () => render(),
    cleanup: () => {
      closed = true;
      sub?.off('event', onEvent);
      sub?.off('presence', onPresence);
      sub?.off('ended', onEnded);
    },
  };
}
