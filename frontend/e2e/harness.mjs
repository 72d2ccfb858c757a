// End-to-end harness: starts the real backend (own port, own data dir), serves the built app, and
// launches Debian's Chromium through playwright-core with a fake microphone. Everything it starts runs
// in its own process group and is killed at the end, also when a test fails or the run is interrupted.
//
// Environment:
//   MITHI_PYTHON       the backend's Python (default ../.venv/bin/python)
//   CHROMIUM_PATH      the browser (default /usr/bin/chromium)
//   MITHI_E2E_SERVE    "backend" (default): the backend serves frontend/dist at /;
//                      "preview": `vite preview` serves dist and proxies the API to the backend
//   MITHI_E2E_BACKEND_TIMEOUT_S   how long to wait for GET /health (default 180)

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const FRONTEND = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(FRONTEND, '..');
export const FIXTURE_WAV = path.join(FRONTEND, 'e2e', 'fixtures', 'question.wav');
export const SCREENSHOTS = path.join(REPO, 'artifacts', 'screenshots');

const groups = new Set();

function killAll(signal = 'SIGKILL') {
  for (const child of groups) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', () => killAll('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll('SIGTERM');
    setTimeout(() => {
      killAll('SIGKILL');
      process.exit(130);
    }, 3000).unref();
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `cmd` in a new process group, capturing its output in memory and in `logFile`. */
function startGroup(name, cmd, args, options) {
  const out = fs.openSync(options.logFile, 'w');
  const child = spawn(cmd, args, { ...options, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.name = name;
  child.logFile = options.logFile;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      fs.appendFileSync(options.logFile, `\n[harness] ${name} failed to start (${cmd}): ${err.message}\n`);
      resolve({ code: null, signal: null });
    });
  });
  groups.add(child);
  return child;
}

export function readLog(child, lastChars = 6000) {
  try {
    const text = fs.readFileSync(child.logFile, 'utf8');
    return text.length > lastChars ? `…${text.slice(-lastChars)}` : text;
  } catch {
    return '(no log)';
  }
}

/** Stops a process group: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopGroup(child, graceMs = 8000) {
  if (!child || !groups.has(child)) return;
  if (child.pid === undefined) {
    groups.delete(child); // never started
    return;
  }
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    groups.delete(child);
    return;
  }
  const done = await Promise.race([child.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), graceMs))]);
  // the leader may be gone while children (e.g. the embedded Redis) linger: always sweep the group
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* all gone */
  }
  if (!done) await Promise.race([child.exited, new Promise((r) => setTimeout(r, 2000))]);
  groups.delete(child);
}

async function waitForUrl(url, { timeoutMs, child, what, accept = (res) => res.ok }) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let exited = null;
  child.exited.then((e) => {
    exited = e;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited (code ${exited.code}, signal ${exited.signal}) before it was ready. Its log:\n${readLog(child)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (accept(res)) return res;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} was not ready at ${url} within ${Math.round(timeoutMs / 1000)} s (last: ${last}). Its log:\n${readLog(child)}`);
}

/**
 * The backend + the app. Returns { baseUrl, backendUrl, tmp, backend, stop(), stopBackend(), restartBackend() }.
 * `options.config`: more top-level YAML lines for the temporary config (e.g. `auth: {api_keys: ${MITHI_API_KEYS}}`);
 * `options.server`: more `server:` settings, as YAML flow entries (e.g. `max_voice_sessions: 2`);
 * `options.env`: more environment for the backend (e.g. { MITHI_API_KEYS: 'web:sk-web-test-123' }).
 */
export async function startStack(options = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mithi-e2e-'));
  const serve = (process.env.MITHI_E2E_SERVE ?? 'backend').toLowerCase();
  const port = await freePort();
  const dist = path.join(FRONTEND, 'dist');
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error(`${dist}/index.html is missing: run \`npm run build\` first (npm run e2e does).`);
  const config = [
    `paths: {data_dir: ${JSON.stringify(path.join(tmp, 'data'))}${serve === 'backend' ? `, web_dist: ${JSON.stringify(dist)}` : ''}}`,
    `server: {host: 127.0.0.1, port: ${port}, log_level: info${options.server ? `, ${options.server}` : ''}}`,
    ...(options.config ?? []),
    '',
  ].join('\n');
  const configFile = path.join(tmp, 'config.yml');
  fs.writeFileSync(configFile, config);
  const python = process.env.MITHI_PYTHON ?? path.join(REPO, '.venv', 'bin', 'python');
  const backendUrl = `http://127.0.0.1:${port}`;
  const launch = async (label) => {
    const t0 = Date.now();
    const child = startGroup('backend', python, ['-m', 'backend', '--config', configFile], {
      cwd: REPO,
      env: { ...process.env, ...(options.env ?? {}), PYTHONUNBUFFERED: '1', MITHI_CONFIG: configFile },
      logFile: path.join(tmp, `backend-${label}.log`),
    });
    stack.backend = child;
    await waitForUrl(`${backendUrl}/health`, {
      timeoutMs: Number(process.env.MITHI_E2E_BACKEND_TIMEOUT_S ?? 180) * 1000,
      child,
      what: 'the backend',
    });
    console.log(`# backend ready on ${backendUrl} in ${((Date.now() - t0) / 1000).toFixed(1)} s (log: ${child.logFile})`);
    return child;
  };
  const stack = { tmp, backend: null, backendUrl, baseUrl: backendUrl, preview: null };
  stack.stop = async () => {
    await stopGroup(stack.preview);
    await stopGroup(stack.backend);
  };
  /** Stop the backend (the page keeps running), e.g. to test reconnection. */
  stack.stopBackend = () => stopGroup(stack.backend);
  /** Start it again on the same port, with the same data dir. */
  stack.restartBackend = () => launch(`restart-${Date.now()}`);
  try {
    await launch('first');
    if (serve === 'preview') {
      const webPort = await freePort();
      const vite = path.join(FRONTEND, 'node_modules', 'vite', 'bin', 'vite.js');
      stack.preview = startGroup('vite preview', process.execPath, [vite, 'preview', '--host', '127.0.0.1', '--port', String(webPort), '--strictPort'], {
        cwd: FRONTEND,
        env: { ...process.env, MITHI_BACKEND_URL: backendUrl },
        logFile: path.join(tmp, 'preview.log'),
      });
      stack.baseUrl = `http://127.0.0.1:${webPort}`;
      await waitForUrl(`${stack.baseUrl}/`, { timeoutMs: 30000, child: stack.preview, what: 'vite preview' });
    } else {
      const res = await fetch(`${backendUrl}/`);
      const html = await res.text();
      if (!html.includes('id="root"')) throw new Error(`the backend does not serve the app from ${dist} (GET / answered ${res.status}); set MITHI_E2E_SERVE=preview`);
    }
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/** Chromium whose microphone plays `wav` once (then silence). */
export async function launchBrowser(wav = FIXTURE_WAV) {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new Error(`${executablePath} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}%noloop`],
    timeout: 60000,
  });
}
