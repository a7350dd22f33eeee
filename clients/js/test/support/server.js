// Starts a real hehe-server for the tests: a free port on 127.0.0.1, a temp data dir, killed when
// the test process ends (also when a test fails or the process is interrupted).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const jsRoot = resolve(here, '..', '..');
const workspace = resolve(jsRoot, '..', '..');
const BIN = process.env.HEHE_SERVER_BIN
  ? resolve(jsRoot, process.env.HEHE_SERVER_BIN)
  : resolve(jsRoot, '../../target/debug/hehe-server');

/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();
function killAll() {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** Builds the server once if the binary is missing (waits for another build's cargo lock). */
export function ensureServerBinary() {
  if (existsSync(BIN)) return BIN;
  if (process.env.HEHE_SERVER_BIN) throw new Error(`HEHE_SERVER_BIN=${BIN} does not exist`);
  const res = spawnSync('cargo', ['build', '-p', 'hehe-server'], { cwd: workspace, stdio: 'inherit' });
  if (res.status !== 0 || !existsSync(BIN)) throw new Error('cargo build -p hehe-server failed');
  return BIN;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * @typedef {object} TestServer
 * @property {string} base e.g. http://127.0.0.1:12345
 * @property {string} ws e.g. ws://127.0.0.1:12345/ws
 * @property {() => Promise<void>} stop
 * @property {() => string} log What the server printed, for failure messages.
 */

/**
 * @param {Record<string, string>} [env] Extra HEHE_* settings.
 * @returns {Promise<TestServer>}
 */
export async function startServer(env = {}) {
  const bin = ensureServerBinary();
  const dataDir = mkdtempSync(join(tmpdir(), 'hehe-js-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(bin, [], {
      env: {
        ...process.env,
        HEHE_LISTEN: `127.0.0.1:${port}`,
        HEHE_DATA_DIR: dataDir,
        HEHE_LOG: 'warn',
        // The ops channel's per-second reports are noise here.
        HEHE_OPS_STATS_MS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    let exited = false;
    child.on('exit', () => {
      exited = true;
      running.delete(child);
    });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${base}/readyz`);
        if (res.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!ready) {
      child.kill('SIGKILL');
      // The port may have been taken between probing and binding: try another.
      if (exited && attempt < 3) continue;
      throw new Error(`hehe-server did not become ready:\n${output}`);
    }
    return {
      base,
      ws: `ws://127.0.0.1:${port}/ws`,
      log: () => output,
      stop: async () => {
        if (!exited) {
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await gone;
        }
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
}
