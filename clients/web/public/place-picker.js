// A place picker for the console's forms (a grant's or an invite's place, an issue's place):
// one select a level, walking down from the roots the caller may see (`GET /api/places`) through
// each place's children (`GET /api/places/{id}`), until a place of a wanted kind is chosen.

import { h } from './dom.js';
import { t, placeName } from './i18n.js';
import { api, knowPlace } from './state.js';

/** The kinds a place of each kind may hold, top down (a compound is optional). */
export const CHILD_KINDS = {
  street: ['community'],
  community: ['compound', 'grid'],
  compound: ['grid'],
  grid: ['building'],
  building: [],
};

/** The place of a role's grant (domain::roles::place_kind_for); none for ops and admin. */
export const ROLE_KIND = {
  resident: 'community',
  building_lead: 'building',
  grid_worker: 'grid',
  community_official: 'community',
  street_chief: 'street',
  ops: null,
  admin: null,
};

/** The children of a place, each fetched once per picker. */
async function childrenOf(id, cache) {
  if (!cache.has(id)) {
    cache.set(
      id,
      api('GET', `/api/places/${id}`).then((d) => {
        for (const p of d.children || []) knowPlace(p);
        return (d.children || []).filter((p) => !p.archived);
      }),
    );
  }
  return cache.get(id);
}

/**
 * A box of selects; `onChange(place | null)` gets the deepest chosen place when its kind is one
 * of `kinds`, else null. `roots` (PlaceInfo[]) replaces `GET /api/places` when given.
 * @param {{ kinds: string[], onChange: (place: any) => void, testid: string, label: string, roots?: any[] }} opts
 */
export function placePicker({ kinds, onChange, testid, label, roots }) {
  const box = h('div.picker', { testid });
  const cache = new Map();
  let generation = 0;
  const wanted = (p) => p && kinds.includes(p.kind);
  // Whether a place can still lead down to a wanted kind.
  const leadsTo = (kind, seen = new Set()) => {
    if (kinds.includes(kind)) return true;
    if (seen.has(kind)) return false;
    seen.add(kind);
    return (CHILD_KINDS[kind] || []).some((k) => leadsTo(k, seen));
  };
  /** A level under `parent` (null at the top), listing `places`. */
  const addLevel = (depth, places, parent = null) => {
    while (box.children.length > depth) box.lastElementChild?.remove();
    const usable = places.filter((p) => wanted(p) || (CHILD_KINDS[p.kind] || []).some((k) => leadsTo(k)));
    if (!usable.length) {
      if (!parent) box.append(h('div.hint', t('picker.none')));
      return;
    }
    const select = h(
      'select',
      { testid: `${testid}-${depth}`, 'aria-label': `${label} (${depth + 1})` },
      h('option', { value: '' }, t('picker.choose')),
      usable.map((p) => h('option', { value: String(p.id) }, `${placeName(p)} · ${t(`kind.${p.kind}`)}`)),
    );
    select.addEventListener('change', async () => {
      const mine = ++generation;
      while (box.children.length > depth + 1) box.lastElementChild?.remove();
      const place = usable.find((p) => p.id === Number(select.value)) || null;
      // Back to "choose": the level above is the choice again.
      onChange(wanted(place) ? place : wanted(parent) && !place ? parent : null);
      if (!place || !(CHILD_KINDS[place.kind] || []).some((k) => leadsTo(k))) return;
      try {
        const kids = await childrenOf(place.id, cache);
        if (mine === generation) addLevel(depth + 1, kids, place);
      } catch {
        /* the place stays a dead end */
      }
    });
    box.append(select);
  };
  (async () => {
    const start = roots || (await api('GET', '/api/places'));
    for (const p of start) knowPlace(p);
    addLevel(0, start.filter((p) => !p.archived));
  })().catch(() => box.append(h('div.hint', t('picker.none'))));
  return box;
}
