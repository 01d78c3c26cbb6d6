#!/usr/bin/env node
// Scores an ONNX model in ONNX Runtime for Node.js (onnxruntime-node, CPU) or in ONNX Runtime Web (onnxruntime-web,
// wasm backend, one thread) inside headless Chromium, and writes every graph output to a JSON file.
//
//   node score.mjs --runtime node|web --model model.onnx --inputs inputs.json --outputs out.json
//                  [--chromium PATH] [--timeout SECONDS] [--verbose]
//
// Exit codes: 0 scored; 1 the runtime failed (model load or run; the message is on stderr); 2 bad arguments or
// input files; 3 the runtime is not installed (one line on stderr starting with "SKIP:").
// The JSON format of inputs and outputs is described in tensors.mjs and README.md.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, accessSync, constants } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSession } from './tensors.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

class Exit extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
const usage = (msg) => new Exit(2, msg);
const skip = (reason) => new Exit(3, `SKIP: ${reason}`);
const fail = (msg) => new Exit(1, msg);

const USAGE =
  'usage: node score.mjs --runtime node|web --model model.onnx --inputs inputs.json --outputs out.json ' +
  '[--chromium PATH] [--timeout SECONDS] [--verbose]';

function parseArgs(argv) {
  const opts = { timeout: 120, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw usage(`${arg} needs a value\n${USAGE}`);
      return argv[++i];
    };
    switch (arg) {
      case '--runtime': opts.runtime = next(); break;
      case '--model': opts.model = next(); break;
      case '--inputs': opts.inputs = next(); break;
      case '--outputs': opts.outputs = next(); break;
      case '--chromium': opts.chromium = next(); break;
      case '--timeout': opts.timeout = Number(next()); break;
      case '--verbose': opts.verbose = true; break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw usage(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  if (opts.runtime !== 'node' && opts.runtime !== 'web') throw usage(`--runtime must be node or web\n${USAGE}`);
  for (const k of ['model', 'inputs', 'outputs']) if (!opts[k]) throw usage(`--${k} is required\n${USAGE}`);
  if (!(opts.timeout > 0)) throw usage('--timeout must be a positive number of seconds');
  return opts;
}

function readInputs(opts) {
  if (!existsSync(opts.model)) throw usage(`model not found: ${opts.model}`);
  if (!existsSync(opts.inputs)) throw usage(`inputs not found: ${opts.inputs}`);
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(opts.inputs, 'utf8'));
  } catch (e) {
    throw usage(`inputs ${opts.inputs} is not valid JSON: ${e.message}`);
  }
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw usage(`inputs ${opts.inputs} must be a JSON object {name: {type, dims, data}}`);
  }
  return { model: readFileSync(opts.model), inputs };
}

const errorText = (e) => (e && e.message ? e.message : String(e));

// ---------------------------------------------------------------- onnxruntime-node

async function scoreNode(model, inputs) {
  let ort;
  try {
    require.resolve('onnxruntime-node');
  } catch {
    throw skip(`onnxruntime-node is not installed (run npm ci in ${HERE})`);
  }
  try {
    ort = await import('onnxruntime-node');
    ort = ort.default ?? ort;
  } catch (e) {
    throw skip(`onnxruntime-node does not load on ${process.platform}/${process.arch}: ${errorText(e).split('\n')[0]}`);
  }
  let session;
  try {
    // The error reaches stderr through the exception; the native log would only repeat it.
    ort.env.logLevel = 'fatal';
    session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], logSeverityLevel: 4 });
  } catch (e) {
    throw fail(`onnxruntime-node could not load the model: ${errorText(e)}`);
  }
  try {
    return await runSession(ort, session, inputs);
  } catch (e) {
    throw fail(`onnxruntime-node could not run the model: ${errorText(e)}`);
  } finally {
    await session.release?.();
  }
}

// ---------------------------------------------------------------- onnxruntime-web in headless Chromium

function findOrtWebDist() {
  let entry;
  try {
    entry = require.resolve('onnxruntime-web'); // <package>/dist/ort.node.min.js: its folder holds the browser files
  } catch {
    throw skip(`onnxruntime-web is not installed (run npm ci in ${HERE})`);
  }
  const dist = dirname(entry);
  for (const f of ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) {
    if (!existsSync(join(dist, f))) throw skip(`onnxruntime-web is incomplete: ${f} is missing from its dist folder`);
  }
  return dist;
}

function isExecutable(p) {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function findChromium(explicit) {
  if (explicit) {
    if (!isExecutable(explicit)) throw skip(`Chromium not found at ${explicit}`);
    return explicit;
  }
  const env = process.env.CHROMIUM_PATH || process.env.CHROME_PATH || process.env.PUPPETEER_EXECUTABLE_PATH;
  if (env) {
    if (!isExecutable(env)) throw skip(`Chromium not found at ${env} (from the environment)`);
    return env;
  }
  const names = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome', 'chrome'];
  for (const dir of ['/usr/bin', ...(process.env.PATH || '').split(delimiter).filter(Boolean)]) {
    for (const n of names) if (isExecutable(join(dir, n))) return join(dir, n);
  }
  throw skip('Chromium not found (install Debian\'s chromium package, or pass --chromium PATH or set CHROMIUM_PATH)');
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

// The page: imports ONNX Runtime Web (wasm build) and tensors.mjs from the server, fetches the model and the inputs,
// scores, and posts {ok, outputs} or {ok:false, error} back. Every failure, including a failed import, is posted.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>score</title></head><body>
<script type="module">
const post = (body) => fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const fail = (where, e) => post({ ok: false, where, error: (e && (e.message || String(e))) || 'unknown error', stack: e && e.stack });
window.addEventListener('unhandledrejection', (ev) => fail('unhandled rejection', ev.reason));
window.addEventListener('error', (ev) => fail('uncaught error', ev.error || ev.message));
let stage = 'import';
try {
  const ort = await import('/ort/ort.wasm.min.mjs');
  const { runSession } = await import('/tensors.mjs');
  stage = 'setup';
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.logLevel = 'error';
  const [model, inputs] = await Promise.all([
    fetch('/model').then((r) => r.arrayBuffer()),
    fetch('/inputs').then((r) => r.json()),
  ]);
  stage = 'load';
  const session = await ort.InferenceSession.create(new Uint8Array(model), { executionProviders: ['wasm'] });
  stage = 'run';
  const outputs = await runSession(ort, session, inputs);
  await post({ ok: true, outputs, version: ort.env.versions && ort.env.versions.web });
} catch (e) {
  await fail(stage, e);
}
</script></body></html>`;

function startServer(dist, model, inputsText) {
  let settle;
  const result = new Promise((res) => (settle = res));
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'POST' && url.pathname === '/result') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        send(204, 'text/plain', '');
        try {
          settle(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          settle({ ok: false, where: 'result', error: `the page posted invalid JSON: ${e.message}` });
        }
      });
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') return send(200, MIME['.html'], PAGE);
    if (url.pathname === '/model') return send(200, 'application/octet-stream', model);
    if (url.pathname === '/inputs') return send(200, MIME['.json'], inputsText);
    if (url.pathname === '/tensors.mjs') return send(200, MIME['.mjs'], readFileSync(join(HERE, 'tensors.mjs')));
    if (url.pathname === '/favicon.ico') return send(204, 'text/plain', '');
    if (url.pathname.startsWith('/ort/')) {
      const name = url.pathname.slice('/ort/'.length);
      if (/^[A-Za-z0-9._-]+$/.test(name) && existsSync(join(dist, name))) {
        return send(200, MIME[extname(name)] ?? 'application/octet-stream', readFileSync(join(dist, name)));
      }
    }
    send(404, 'text/plain', 'not found');
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res({ server, port: server.address().port, result }));
  });
}

async function scoreWeb(model, inputs, opts) {
  const dist = findOrtWebDist();
  const chromium = findChromium(opts.chromium);
  const { server, port, result } = await startServer(dist, model, JSON.stringify(inputs));
  const profile = mkdtempSync(join(tmpdir(), 'ort-web-score-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-extensions',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--mute-audio',
    `--user-data-dir=${profile}`,
    `http://127.0.0.1:${port}/`,
  ];
  let log = '';
  const keep = (chunk) => {
    log += chunk.toString();
    if (log.length > 20000) log = log.slice(-20000);
  };
  // Chromium in its own process group, so that its helper processes (zygote, renderer, utility) end with it.
  const child = spawn(chromium, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const onSignal = (signal) => {
    killGroup('SIGKILL');
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      /* a leftover temporary profile is harmless */
    }
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((res) => {
    child.once('exit', (code, signal) => res({ exited: true, code, signal }));
    child.once('error', (e) => res({ exited: true, error: e }));
  });
  let timer;
  const timedOut = new Promise((res) => (timer = setTimeout(() => res({ timedOut: true }), opts.timeout * 1000)));
  try {
    const r = await Promise.race([result, exited, timedOut]);
    // Chromium's log without the lines a headless run in a container always prints (no D-Bus, the Debian wrapper).
    const tail = () => {
      const lines = log.split('\n').filter((l) => l.trim() && !/dbus|D-Bus|unexpected operator/i.test(l));
      return lines.length ? `\n--- Chromium log (tail) ---\n${lines.slice(-30).join('\n')}` : '';
    };
    if (opts.verbose && log.trim()) process.stderr.write(`--- Chromium log ---\n${log}\n`);
    if (r.timedOut) throw fail(`onnxruntime-web: no result from Chromium within ${opts.timeout} s${tail()}`);
    if (r.exited) {
      if (r.error) throw skip(`Chromium could not be started (${chromium}): ${r.error.message}`);
      throw fail(`Chromium exited before the page posted a result (code ${r.code}, signal ${r.signal})${tail()}`);
    }
    if (!r.ok) {
      const verb = { import: 'could not import onnxruntime-web in Chromium', setup: 'could not set up', load: 'could not load the model', run: 'could not run the model' }[r.where] ?? `failed (${r.where})`;
      throw fail(`onnxruntime-web ${verb}: ${r.error}${opts.verbose && r.stack ? `\n${r.stack}` : ''}`);
    }
    return r.outputs;
  } finally {
    clearTimeout(timer);
    if (child.pid !== undefined) {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup('SIGTERM');
        const killer = setTimeout(() => killGroup('SIGKILL'), 3000);
        await exited;
        clearTimeout(killer);
      }
      killGroup('SIGKILL'); // any helper process left behind
    }
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    server.close();
    server.closeAllConnections?.();
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      /* a leftover temporary profile is harmless */
    }
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { model, inputs } = readInputs(opts);
  const outputs = opts.runtime === 'node' ? await scoreNode(model, inputs) : await scoreWeb(model, inputs, opts);
  try {
    writeFileSync(resolve(opts.outputs), JSON.stringify(outputs) + '\n');
  } catch (e) {
    throw usage(`cannot write ${opts.outputs}: ${e.message}`);
  }
}

try {
  await main();
  process.exit(0);
} catch (e) {
  if (e instanceof Exit) {
    process.stderr.write(e.message.trimEnd() + '\n');
    process.exit(e.code);
  }
  process.stderr.write(`score.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}
