// The console's places: the tree the caller may manage (streets from `GET /api/places`, each
// place's children from `GET /api/places/{id}`), a panel for the chosen place (rename, add a
// place under it, move, archive, restore) and the bulk import of a place tree from CSV.

import { h, mount } from './dom.js';
import { t, placeName } from './i18n.js';
import { S, api, hasRole, knowPlace } from './state.js';
import { field, errText, toast } from './ui.js';
import { listen } from './admin-live.js';
import { importBox } from './admin-import.js';
import { CHILD_KINDS } from './place-picker.js';

/** The kinds a place of each kind may move under. */
const PARENT_KINDS = { community: ['street'], compound: ['community'], grid: ['community', 'compound'], building: ['grid'] };

const PLACES_CSV = 'street,community,compound,grid,building,units,floors';
const PLACES_EXAMPLE = '东湖街道,桂花社区,,一网格,3栋,4,18';

export function placesTab(box) {
  const roots = /** @type {any[]} */ ([]);
  /** @type {Map<number, any[]>} children by parent, once expanded */
  const kids = new Map();
  const open = new Set();
  let archived = false;
  let selected = /** @type {any} */ (null);
  const tree = h('ul.tree', { testid: 'place-tree', 'aria-label': t('places.tree') });
  const panel = h('div.section', { testid: 'place-editor' });
  const status = h('div.error', { role: 'alert' });
  // A refusal of the panel's actions shows in the panel, by the buttons (a phone shows no more).
  const panelStatus = h('div.error', { role: 'alert', testid: 'place-error' });
  const q = () => (archived ? '?archived=true' : '');

  const loadRoots = async () => {
    const list = await api('GET', `/api/places${q()}`);
    roots.splice(0, roots.length, ...list);
    for (const p of list) knowPlace(p);
  };
  const loadKids = async (id) => {
    const d = await api('GET', `/api/places/${id}${q()}`);
    knowPlace(d.place);
    for (const p of d.children) knowPlace(p);
    kids.set(id, d.children);
    return d;
  };
  /** Reads again what is shown (the roots and every open place), then draws. */
  const reload = async () => {
    status.textContent = '';
    try {
      await loadRoots();
      await Promise.all([...open].map((id) => loadKids(id).catch(() => open.delete(id))));
      if (selected) selected = find(selected.id) || selected;
    } catch (e) {
      status.textContent = errText(e);
    }
    draw();
  };
  const find = (id) => roots.find((p) => p.id === id) || [...kids.values()].flat().find((p) => p.id === id);

  const node = (p) => {
    const isOpen = open.has(p.id);
    const leaf = p.kind === 'building';
    const row = h(
      'div.tree-row',
      { testid: `place-${p.id}`, class: `tree-row${selected?.id === p.id ? ' selected' : ''}${p.archived ? ' archived' : ''}` },
      leaf
        ? h('span.tree-gap', { 'aria-hidden': 'true' })
        : h(
            'button.tree-toggle',
            {
              type: 'button',
              testid: `toggle-${p.id}`,
              'aria-expanded': String(isOpen),
              'aria-label': t(isOpen ? 'places.collapse' : 'places.expand', { name: placeName(p) }),
              onclick: async () => {
                if (isOpen) open.delete(p.id);
                else {
                  open.add(p.id);
                  await loadKids(p.id).catch((e) => (status.textContent = errText(e)));
                }
                draw();
                tree.querySelector(`[data-testid="toggle-${p.id}"]`)?.focus();
              },
            },
            isOpen ? '▾' : '▸',
          ),
      h(
        'button.tree-name',
        { type: 'button', testid: `select-${p.id}`, 'aria-current': selected?.id === p.id ? 'true' : undefined, onclick: () => choose(p) },
        placeName(p),
        h('span.tag', t(`kind.${p.kind}`)),
        p.archived && h('span.tag.muted', t('places.archived')),
      ),
    );
    return h('li', row, isOpen && !leaf && h('ul', (kids.get(p.id) || []).map(node)));
  };
  const draw = () => {
    mount(tree, roots.length ? roots.map(node) : h('li.empty', t('places.none')));
    drawPanel();
  };
  const choose = (p) => {
    selected = p;
    panelStatus.textContent = '';
    draw();
    panel.querySelector('h3')?.focus();
  };

  /** Sends a change; its answer (a PlaceInfo) is shown and the tree read again. */
  const change = async (method, path, body, done) => {
    panelStatus.textContent = '';
    try {
      const place = await api(method, path, body);
      knowPlace(place);
      if (place?.parent_id) open.add(place.parent_id);
      toast(done);
      if (selected && place?.id === selected.id) selected = place;
      await reload();
      return place;
    } catch (e) {
      panelStatus.textContent = errText(e);
      return null;
    }
  };

  const drawPanel = () => {
    if (!selected) {
      mount(panel, hasRole('admin') && [addForm(null, ['street']), panelStatus]);
      return;
    }
    const p = selected;
    mount(
      panel,
      h('h3', { tabIndex: -1, testid: 'place-title' }, `${placeName(p)} · ${t(`kind.${p.kind}`)} #${p.id}`),
      p.archived && h('p.hint', t('places.isArchived')),
      renameForm(p),
      !p.archived && CHILD_KINDS[p.kind].length > 0 && h('details.fold', { testid: 'add-fold' }, h('summary', t('places.addUnder', { name: placeName(p) })), addForm(p, CHILD_KINDS[p.kind])),
      !p.archived && PARENT_KINDS[p.kind] && h('details.fold', { testid: 'move-fold' }, h('summary', t('places.move')), moveForm(p)),
      h(
        'div.actions',
        p.archived
          ? h('button.btn.secondary', { type: 'button', testid: 'place-restore', onclick: () => change('POST', `/api/places/${p.id}/restore`, undefined, t('places.restored')) }, t('places.restore'))
          : h('button.btn.danger', { type: 'button', testid: 'place-archive', onclick: () => change('POST', `/api/places/${p.id}/archive`, undefined, t('places.archivedDone')) }, t('places.archive')),
        h('button.btn.secondary', { type: 'button', onclick: () => ((selected = null), (panelStatus.textContent = ''), draw()) }, t('places.deselect')),
      ),
      panelStatus,
    );
  };

  const renameForm = (p) => {
    const zh = h('input', { testid: 'rename-zh', value: p.name_zh, required: true });
    const en = h('input', { testid: 'rename-en', value: p.name, lang: 'en' });
    const [units, floors] = sizeInputs(p);
    return h(
      'form.subform',
      {
        testid: 'rename-form',
        onsubmit: (e) => {
          e.preventDefault();
          const body = { name_zh: zh.value.trim() };
          if (en.value.trim()) body.name = en.value.trim();
          if (units) Object.assign(body, sizes(units, floors));
          change('PATCH', `/api/places/${p.id}`, body, t('places.saved'));
        },
      },
      h('h4', t('places.rename')),
      field(t('places.nameZh'), zh),
      field(t('places.nameEn'), en),
      units && field(t('places.units'), units),
      floors && field(t('places.floors'), floors),
      h('button.btn', { type: 'submit', testid: 'rename-submit' }, t('save')),
    );
  };

  /** A new place under `parent` (a street when null), of one of `kinds`. */
  const addForm = (parent, kinds) => {
    const kind = h('select', { testid: 'add-kind' }, kinds.map((k) => h('option', { value: k }, t(`kind.${k}`))));
    const zh = h('input', { testid: 'add-zh', required: true });
    const en = h('input', { testid: 'add-en', lang: 'en' });
    const [units, floors] = sizeInputs({ kind: 'building' });
    const sizeFields = h('div', field(t('places.units'), units), field(t('places.floors'), floors));
    const showSizes = () => sizeFields.classList.toggle('hidden', kind.value !== 'building');
    kind.addEventListener('change', showSizes);
    showSizes();
    return h(
      'form.subform',
      {
        testid: 'add-form',
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { kind: kind.value, parent: parent?.id ?? null, name_zh: zh.value.trim(), name: en.value.trim() || zh.value.trim() };
          if (kind.value === 'building') Object.assign(body, sizes(units, floors));
          if (parent) open.add(parent.id);
          if (await change('POST', '/api/places', body, t('places.created'))) zh.value = en.value = '';
        },
      },
      !parent && h('h3', t('places.addStreet')),
      kinds.length > 1 ? field(t('places.kind'), kind) : '',
      field(t('places.nameZh'), zh),
      field(t('places.nameEn'), en),
      sizeFields,
      h('button.btn', { type: 'submit', testid: 'add-submit' }, t('places.add')),
    );
  };

  /** Moves a place under another of a fitting kind, among those the tree has shown. */
  const moveForm = (p) => {
    const fits = [...roots, ...[...kids.values()].flat()].filter((x) => PARENT_KINDS[p.kind].includes(x.kind) && !x.archived && x.id !== p.parent_id);
    const unique = [...new Map(fits.map((x) => [x.id, x])).values()];
    const to = h(
      'select',
      { testid: 'move-to' },
      h('option', { value: '' }, t('picker.choose')),
      unique.map((x) => h('option', { value: String(x.id) }, `${pathOf(x)} · ${t(`kind.${x.kind}`)}`)),
    );
    return h(
      'form.subform',
      {
        testid: 'move-form',
        onsubmit: (e) => {
          e.preventDefault();
          if (!to.value) return;
          change('POST', `/api/places/${p.id}/move`, { parent: Number(to.value) }, t('places.moved'));
        },
      },
      field(t('places.moveTo'), to, t('places.moveHint')),
      h('button.btn.secondary', { type: 'submit', testid: 'move-submit' }, t('places.move')),
    );
  };

  mount(
    box,
    h('div.split', h('div.section', h('h3', t('places.title')), h('label.check', archivedToggle(), t('places.showArchived')), status, tree), panel),
    h(
      'div.section',
      h('h3', t('places.import')),
      importBox({ path: '/api/places/import', testid: 'places-import', header: PLACES_CSV, example: PLACES_EXAMPLE, onApplied: () => reload() }),
    ),
  );
  function archivedToggle() {
    return h('input', {
      type: 'checkbox',
      testid: 'show-archived',
      onchange: (e) => {
        archived = e.target.checked;
        reload();
      },
    });
  }
  reload();
  // Live: a change made elsewhere (place.created, .updated, .moved, .archived, .restored) on
  // the street and home channels (admin-live.js) redraws the tree.
  let timer = 0;
  const { stop } = listen(['street', 'home'], (ev) => {
    if (!ev.kind.startsWith('place.')) return;
    clearTimeout(timer);
    timer = setTimeout(reload, 200);
  });
  return {
    cleanup: () => {
      clearTimeout(timer);
      stop();
    },
  };
}

/** A place's name with those above it that are known, e.g. "Riverside / Riverside grid 1". */
function pathOf(p) {
  const names = [];
  for (let x = p; x; x = x.parent_id ? S.places.get(x.parent_id) : null) names.unshift(placeName(x));
  return names.join(' / ');
}

/** The units and floors inputs of a building (none for other kinds). */
function sizeInputs(p) {
  if (p.kind !== 'building') return [null, null];
  const num = (v, testid) => h('input', { type: 'number', min: 1, max: 999, inputMode: 'numeric', testid, value: v == null ? '' : String(v) });
  return [num(p.units, 'units'), num(p.floors, 'floors')];
}

/** The sizes given (an empty box is left out). */
function sizes(units, floors) {
  const out = {};
  if (units.value) out.units = Number(units.value);
  if (floors.value) out.floors = Number(floors.value);
  return out;
}
