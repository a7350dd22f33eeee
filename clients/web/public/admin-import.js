// A CSV import with a preview, for places and for people: paste the text or pick a file,
// "preview" asks the server what it would do (`?dry_run=true`: what it would create, every
// refused line and why), "import" applies it (`?dry_run=false`; all lines or none).

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { api, placeLabel } from './state.js';
import { field, errText, toast } from './ui.js';

/**
 * @param {{ path: string, testid: string, header: string, example: string, onApplied?: () => void }} opts
 *   `path` is the import route without its query, `header` the CSV's first line (shown as help).
 */
export function importBox({ path, testid, header, example, onApplied }) {
  const text = h('textarea.csv', { testid: `${testid}-text`, rows: 6, spellcheck: false, placeholder: `${header}\n${example}` });
  const file = h('input', { type: 'file', accept: '.csv,text/csv,text/plain', testid: `${testid}-file` });
  const report = h('div.report', { testid: `${testid}-report`, role: 'status', 'aria-live': 'polite' });
  // The text last previewed with no refused line: only that text may be imported.
  let clean = null;
  const preview = h('button.btn.secondary', { type: 'button', testid: `${testid}-preview`, onclick: () => run(true) }, t('import.preview'));
  const apply = h('button.btn', { type: 'button', testid: `${testid}-apply`, disabled: true, onclick: () => run(false) }, t('import.apply'));
  // A report is of the text previewed: an edit makes it stale, and it goes.
  const stale = () => {
    clean = null;
    apply.disabled = true;
    mount(report);
  };
  text.addEventListener('input', stale);
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    text.value = await f.text();
    stale();
  });
  const run = async (dryRun) => {
    const body = text.value.trim();
    if (!body) {
      mount(report, h('div.error', t('import.empty')));
      return;
    }
    preview.disabled = true;
    apply.disabled = true;
    try {
      const rep = await api('POST', `${path}?dry_run=${dryRun}`, new Blob([body + '\n'], { type: 'text/csv' }));
      show(rep);
      clean = dryRun && !rep.refused.length ? body : null;
      if (!dryRun && rep.applied) {
        toast(t('import.done'));
        text.value = '';
        onApplied?.();
      }
    } catch (e) {
      // With refused lines the import answers 422 and its report: nothing was applied.
      if (e.body?.refused) show(e.body);
      else mount(report, h('div.error', errText(e)));
      clean = null;
    } finally {
      preview.disabled = false;
      apply.disabled = clean === null || clean !== text.value.trim();
    }
  };
  const show = (rep) => {
    const created = rep.created || [];
    const refused = rep.refused || [];
    const verdict = rep.applied ? t('import.applied') : rep.dry_run ? t('import.wouldApply') : t('import.notApplied');
    mount(
      report,
      h(
        'p',
        { testid: `${testid}-summary` },
        verdict,
        ' ',
        t('import.summary', { lines: rep.lines, created: created.length, unchanged: rep.unchanged ?? 0, refused: refused.length }),
      ),
      refused.length > 0 &&
        h(
          'div',
          h('h4', t('import.refused')),
          h(
            'ul.refused',
            { testid: `${testid}-refused` },
            refused.map((r) => h('li', { dataset: { line: String(r.line), code: r.code } }, h('b', t('import.line', { n: r.line })), ' ', r.message)),
          ),
          h('p.hint', t('import.fixFirst')),
        ),
      created.length > 0 &&
        h(
          'div',
          h('h4', rep.applied ? t('import.created') : t('import.wouldCreate')),
          h(
            'table.created',
            { testid: `${testid}-created` },
            h('thead', h('tr', h('th', { scope: 'col' }, t('import.colLine')), h('th', { scope: 'col' }, t('import.colWhat')), h('th', { scope: 'col' }, t('import.colName')))),
            h('tbody', created.map((c) => h('tr', h('td', String(c.line)), h('td', what(c)), h('td', name(c))))),
          ),
        ),
    );
  };
  return h(
    'div.import',
    { testid },
    h('p.hint', t('import.help'), ' ', h('code', header)),
    field(t('import.text'), text),
    field(t('import.file'), file),
    h('div.actions', preview, apply),
    report,
  );
}

/** A created line's kind (a place) or role (a person). */
function what(c) {
  if (c.kind) return t(`kind.${c.kind}`) === `kind.${c.kind}` ? c.kind : t(`kind.${c.kind}`);
  if (c.role) return t(`role.${c.role}`);
  return '';
}

/** A created line's name with where it is: a place's path, or a person's place (invited or not). */
function name(c) {
  if (c.role) return `${c.name} · ${placeLabel(c.place)}${c.invited ? ` · ${t('import.invited')}` : ''}`;
  const path = Array.isArray(c.path) ? c.path.join(' / ') : c.path || '';
  const own = c.name_zh || c.name || '';
  return path && !path.endsWith(own) ? `${path} / ${own}` : path || own;
}
