// Helpers of the enrolment tests: an axe-core check of a screen (WCAG 2.1 A and AA rules), a
// local HTTP receiver standing in for the SMS provider (the server's HEHE_SMS_URL points at
// it), and a fresh browser context that is not signed in.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const PHONE = { width: 390, height: 844 };

/**
 * Runs axe-core in `page` on `selector` (the whole page by default) with the WCAG 2.0/2.1 A and
 * AA rules and fails on any violation, listing each rule with the elements it found. axe is
 * evaluated through the DevTools protocol, so the page's content security policy (no inline
 * script) stays as it is.
 */
export async function axeCheck(page, what, selector = null) {
  if (!(await page.evaluate(() => Boolean(globalThis.axe)))) await page.evaluate(AXE);
  const violations = await page.evaluate(async (sel) => {
    const result = await globalThis.axe.run(sel ? { include: [[sel]] } : document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1, 2).join('')}`) }));
  }, selector);
  assert.deepEqual(violations, [], `axe (WCAG 2.1 AA) on ${what}:\n${violations.map((v) => `- ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join('\n    ')}`).join('\n')}`);
}

/**
 * A local SMS provider: every request's body is kept. `codeFor(phone)` waits for the newest
 * message to a number (its digits appear anywhere in the body) and returns its `code` (or the
 * first run of 4 to 8 digits in it that is not part of the number).
 */
export async function smsReceiver(t) {
  /** @type {{ body: string, json: any, at: number }[]} */
  const messages = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let json = null;
      try {
        json = JSON.parse(body);
      } catch {
        /* kept as text */
      }
      messages.push({ body, json, at: Date.now(), headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise((ok) => server.close(() => ok())));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const digits = (s) => s.replace(/\D/g, '');
  return {
    url: `http://127.0.0.1:${port}/sms`,
    messages,
    async codeFor(phone, since = 0, timeout = 10_000) {
      const tail = digits(phone).slice(-8);
      const deadline = Date.now() + timeout;
      for (;;) {
        const m = [...messages].reverse().find((x) => x.at >= since && digits(x.body).includes(tail));
        // The HTTP sender's payload is {to, purpose, code, text_zh, text_en}; the text is the
        // fallback for a provider that only sends words.
        if (m?.json?.code) return String(m.json.code);
        if (m) {
          const text = m.body.replace(/\+?\d[\d\s-]{9,}\d/g, ' ');
          const code = text.match(/(?<!\d)\d{4,8}(?!\d)/)?.[0];
          if (code) return code;
        }
        if (Date.now() > deadline) throw new Error(`no SMS code for ${phone}: ${JSON.stringify(messages.map((x) => x.body))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** A browser context at the phone size, not signed in, its page at `base` + `hash`. */
export async function visitor(browser, base, hash = '', locale = 'en-GB', who = 'visitor') {
  const context = await browser.newContext({ viewport: PHONE, locale });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${who}] page error:`, err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) console.error(`[${who}] console:`, msg.text());
  });
  await page.goto(`${base}/${hash}`);
  return page;
}
