// The admin console (`#admin/places`, `#admin/people`, `#admin/requests`) for admins, street
// chiefs and community officials: a header, the sections as links, and the open section
// (admin-places.js, admin-people.js, admin-requests.js). The server decides every action; the
// console only shows what a role may try.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { hasRole } from './state.js';
import { header } from './ui.js';
import { placesTab } from './admin-places.js';
import { peopleTab } from './admin-people.js';
import { requestsTab } from './admin-requests.js';

/** Who gets the console: the entry in the chat list and the route check. */
export function mayAdminister() {
  return hasRole('admin', 'street_chief', 'community_official');
}

const TABS = [
  ['places', placesTab],
  ['people', peopleTab],
  ['requests', requestsTab],
];

export function adminView(main, tab) {
  if (!mayAdminister()) return null;
  const [name, open] = TABS.find(([n]) => n === tab) || TABS[0];
  const body = h('div.page.wide', { testid: `admin-${name}` });
  const nav = h(
    'nav.tabs',
    { 'aria-label': t('admin.sections') },
    TABS.map(([n]) => h('a', { href: `#admin/${n}`, testid: `admin-tab-${n}`, 'aria-current': n === name ? 'page' : undefined }, t(`admin.${n}`))),
  );
  // The console's colours meet WCAG 2.1 AA contrast (app.css `.aa`).
  main.classList.add('aa');
  mount(main, header(t('admin.title')), h('main.scroll', { testid: 'admin' }, nav, body));
  const view = open(body) || {};
  return {
    cleanup: () => {
      main.classList.remove('aa');
      view.cleanup?.();
    },
  };
}
