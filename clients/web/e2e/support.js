// Starts a real hehe-server per test (a free port, a temporary data dir) and a headless Debian
// Chromium driven by playwright-core; both are stopped when the test ends, also on failure.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const webRoot = resolve(here, '..');
export const BIN = resolve(webRoot, process.env.HEHE_SERVER_BIN || '../../target/debug/hehe-server');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const SCREENSHOTS = resolve(webRoot, 'screenshots');

/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts the server and a browser; `t.after` stops both. `env` adds to the server's
 * environment (e.g. `HEHE_SMS_URL`).
 * @param {import('node:test').TestContext} t
 * @param {Record<string, string>} [env]
 */
export async function setup(t, env = {}) {
  if (!existsSync(BIN)) throw new Error(`no server binary at ${BIN}: run \`cargo build -p hehe-server\` or set HEHE_SERVER_BIN`);
  const dir = mkdtempSync(join(tmpdir(), 'hehe-web-'));
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const child = spawn(BIN, [], {
    env: { ...process.env, HEHE_LISTEN: listen, HEHE_DATA_DIR: dir, HEHE_LOG: process.env.HEHE_LOG || 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  running.add(child);
  let browser = null;
  t.after(async () => {
    await browser?.close().catch(() => {});
    child.kill('SIGKILL');
    running.delete(child);
    rmSync(dir, { recursive: true, force: true });
  });
  const base = `http://${listen}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hehe-server exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('hehe-server did not get ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  return { base, browser, dir };
}

/** A new browser context (its own sessionStorage) at `width`, signed in as `username`. */
export async function signIn(browser, base, username, width = 375, height = width < 600 ? 740 : 800) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'en-GB' });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${username}] page error:`, err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[${username}] console:`, msg.text());
  });
  await page.goto(base + '/');
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill('hehe-demo');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('chat-list').waitFor();
  await page.locator('[data-testid="conn"][data-state="open"]').first().waitFor();
  return page;
}

/** The HTTP API as a demo account, from the test itself (for the official's steps). */
export async function apiAs(base, username) {
  const res = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'hehe-demo' }),
  });
  const tokens = await res.json();
  let n = 0;
  const call = async (method, path, body) => {
    const r = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json)}`);
    return json;
  };
  return { account: tokens.account, call, action: (issue, action) => call('POST', `/api/issues/${issue}/actions`, { request_id: `e2e-${username}-${++n}-${Date.now()}`, action }) };
}

/** A small valid PNG (a solid square of one colour), written to a temporary file. */
export function pngFile(name, [r, g, b]) {
  const size = 16;
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) raw.set([r, g, b], y * (size * 3 + 1) + 1 + x * 3);
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return { name, mimeType: 'image/png', buffer: png };
}

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
