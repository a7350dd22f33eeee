// The street chief's board (a community official's, for the community): open, overdue and fixed
// issues, bar charts per community and per grid, escalations and overdue issues. The live
// `stats.counters` move the figures at once; everything else is fetched again shortly after.

import { h, mount } from './dom.js';
import { t, placeName } from './i18n.js';
import { barChart } from './charts.js';
import { S, api, grantPlace, namePlaces, placeDetail, placeLabel } from './state.js';
import { header, errText } from './ui.js';
import { OPEN_STATES, issueCard } from './cards.js';

export function boardView(main) {
  const street = grantPlace('street_chief');
  const community = grantPlace('community_official');
  const place = street || community;
  const page = h('div.page', { testid: 'board' }, h('div.empty', t('loading')));
  let stats = null;
  const gridStats = new Map();
  /** @type {Map<number, number[]>} the places directly under a place, from GET /api/places */
  const under = new Map();
  let escalations = [];
  let overdue = [];
  const label = placeLabel;
  /** A chart's rows: every place under `parent` (none left out for having no issues), then any
   *  other the figures name; `parts` as [id, open, overdue]. */
  const rowsUnder = (parent, parts) => {
    const kids = under.get(parent) || [];
    const ids = [...kids, ...parts.map(([id]) => id).filter((id) => !kids.includes(id))];
    return ids.map((id) => {
      const [, o = 0, d = 0] = parts.find(([pid]) => pid === id) || [];
      return { label: label(id), values: [o, d] };
    });
  };
  const render = () => {
    if (!stats) return;
    const counters = S.counters && street && S.counters.street_id === street.id ? S.counters : null;
    const open = counters ? counters.open : stats.overall.open;
    const od = counters ? counters.overdue : stats.overall.overdue;
    const rows = rowsUnder(
      place.id,
      counters ? counters.communities.map((c) => [c.community_id, c.open, c.overdue]) : stats.parts.map((p) => [p.place_id, p.open, p.overdue]),
    );
    const series = { series: [t('board.open'), t('board.overdue')], classes: ['open', 'overdue'] };
    mount(
      page,
      h(
        'div.section',
        h('h3', `${t('board.title')} · ${placeName(place)}`),
        h(
          'div.figures',
          h('div.figure', h('b', { testid: 'board-open' }, String(open)), t('board.open')),
          h('div.figure', h('b', { testid: 'board-overdue' }, String(od)), t('board.overdue')),
          h('div.figure', h('b', String(stats.overall.fixed)), t('closure.fixed')),
        ),
      ),
      h('div.section', h('h3', street ? t('board.communities') : t('board.grids', { name: placeName(place) })), barChart(rows, series)),
      [...gridStats.entries()].map(([cid, st]) =>
        h('div.section', { testid: `board-grids-${cid}` }, h('h3', t('board.grids', { name: label(cid) })), barChart(rowsUnder(cid, st.parts.map((p) => [p.place_id, p.open, p.overdue])), series)),
      ),
      h('div.section', h('h3', t('board.escalations')), escalations.length ? escalations.map((i) => issueCard(i)) : h('div.empty', t('board.none'))),
      h('div.section', h('h3', t('board.overdueList')), overdue.length ? overdue.map((i) => issueCard(i)) : h('div.empty', t('board.none'))),
    );
  };
  let timer;
  const load = async () => {
    stats = await api('GET', `/api/stats?place=${place.id}`);
    // What lies under the board's place (a street's communities, a community's grids), named.
    under.set(place.id, ((await placeDetail(place.id))?.children || []).map((p) => p.id));
    if (street) {
      const ids = [...new Set([...under.get(place.id), ...stats.parts.map((p) => p.place_id), ...(S.counters?.communities || []).map((c) => c.community_id)])];
      const per = await Promise.all(
        ids.map(async (cid) => {
          const [st, detail] = await Promise.all([api('GET', `/api/stats?place=${cid}`).catch(() => null), placeDetail(cid)]);
          if (detail) under.set(cid, detail.children.map((p) => p.id));
          return [cid, st];
        }),
      );
      gridStats.clear();
      for (const [cid, st] of per) if (st) gridStats.set(cid, st);
    }
    // Name any other place the figures mention (each fetched once, then cached).
    await namePlaces([stats, ...gridStats.values()].flatMap((st) => st.parts.map((p) => p.place_id)));
    const scope = street ? { street: street.id } : { community: place.id };
    escalations = await S.http.issues({ ...scope, state: 'escalated', limit: 20 });
    overdue = (await S.http.issues({ ...scope, state: OPEN_STATES.join(','), limit: 200 })).filter((i) => i.overdue);
    render();
  };
  mount(main, header(t('chat.board')), h('div.scroll', page));
  if (place) load().catch((e) => mount(page, h('div.error', errText(e))));
  return {
    // The live counters show at once; the rest is fetched once a burst of events is over.
    refresh: () => {
      render();
      clearTimeout(timer);
      timer = setTimeout(() => load().catch(() => {}), 300);
    },
    cleanup: () => clearTimeout(timer),
  };
}
