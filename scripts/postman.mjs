#!/usr/bin/env node
// Generates postman/maildesk.postman_collection.json and postman/maildesk.postman_environment.json
// from the OpenAPI document the app serves at /docs-json, plus a hand-written "Happy path" folder.
//
//   npm run postman                                  builds, boots the app on a throwaway embedded database
//   node scripts/postman.mjs --url http://host:port  uses a running app instead
//   node scripts/postman.mjs --out DIR               writes somewhere else than postman/ (the test does)
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const COLLECTION_FILE = 'maildesk.postman_collection.json';
export const ENVIRONMENT_FILE = 'maildesk.postman_environment.json';
export const HAPPY_PATH = 'Happy path';
export const READ_ONLY = 'Read-only with an API token';
const DEFAULT_BASE_URL = 'http://127.0.0.1:3000';

/** A stable UUID-shaped id from a name, so regenerating gives the same file. */
function stableId(name) {
  const h = crypto.createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Replaces every generated (random) `id` below `node` with one derived from its place in the tree. */
function stabilizeIds(node, where = 'root') {
  if (Array.isArray(node)) node.forEach((n, i) => stabilizeIds(n, `${where}/${i}`));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'id' && typeof v === 'string') node[k] = stableId(`${where}/${node.name ?? ''}`);
      else stabilizeIds(v, `${where}/${k}`);
    }
  }
}

/** OpenAPI operation for a Postman request: by method and path (`:id` -> `{id}`). */
function operationFor(doc, request) {
  const p = '/' + request.url.path.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s)).join('/');
  return doc.paths[p]?.[request.method.toLowerCase()];
}

/**
 * Operator routes inherit the collection's bearer `{{bearerToken}}` (BEARER_SCRIPT: `apiToken` when
 * set, else the login's `accessToken`); the webhook uses `{{inboundToken}}`; public routes send no token.
 */
function setAuth(doc, items) {
  for (const item of items) {
    if (item.item) {
      setAuth(doc, item.item);
      continue;
    }
    const op = operationFor(doc, item.request);
    const security = (op?.security ?? doc.security ?? []).flatMap((s) => Object.keys(s));
    if (security.includes('inbound')) item.request.auth = bearer('{{inboundToken}}');
    else if (security.includes('operator')) delete item.request.auth;
    else item.request.auth = { type: 'noauth' };
  }
}

function bearer(token) {
  return { type: 'bearer', bearer: [{ key: 'token', value: token, type: 'string' }] };
}

function jsonBody(value) {
  return { mode: 'raw', raw: JSON.stringify(value, null, 2), options: { raw: { language: 'json' } } };
}

function step(name, method, urlPath, { body, headers = [], auth, prerequest, tests }) {
  const segments = urlPath.split('/').filter(Boolean);
  const item = {
    name,
    request: {
      method,
      header: [...headers, ...(body?.options?.raw?.language === 'json' ? [{ key: 'Content-Type', value: 'application/json' }] : [])],
      url: { raw: `{{baseUrl}}/${segments.join('/')}`, host: ['{{baseUrl}}'], path: segments.map((s) => s.split('?')[0]) },
      ...(auth ? { auth } : {}),
      ...(body ? { body } : {}),
    },
    event: [],
  };
  const query = urlPath.split('?')[1];
  if (query) {
    item.request.url.query = query.split('&').map((kv) => ({ key: kv.split('=')[0], value: kv.split('=')[1] }));
    item.request.url.path = segments.map((s) => s.split('?')[0]);
  }
  if (prerequest) item.event.push({ listen: 'prerequest', script: { type: 'text/javascript', exec: prerequest } });
  item.event.push({ listen: 'test', script: { type: 'text/javascript', exec: tests } });
  return item;
}

const RAW_MAIL = [
  'From: Postman Customer <{{customerEmail}}>',
  'To: support@localhost',
  'Subject: Printer on floor 3 is jammed',
  'Message-ID: <{{$guid}}@postman.example.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'The printer on floor 3 shows error E-27 since this morning.',
  '',
].join('\r\n');

/** The hand-written folder: webhook -> login -> list -> take -> reply -> conversation -> close. */
export function happyPath() {
  return {
    name: HAPPY_PATH,
    description: 'A customer writes in by the webhook (INBOUND_TOKEN in `inboundToken`); an operator logs in (`adminEmail`, `adminPassword`), finds the request, takes it, answers and closes it.',
    item: [
      step('A customer email opens a request (webhook)', 'POST', '/inbound/mail', {
        auth: bearer('{{inboundToken}}'),
        headers: [{ key: 'Content-Type', value: 'message/rfc822' }],
        body: { mode: 'raw', raw: RAW_MAIL },
        prerequest: [
          "pm.environment.set('customerEmail', `customer-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`);",
        ],
        tests: [
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          'const result = pm.response.json().results[0];',
          "pm.test('opens a new request', () => {",
          "  pm.expect(pm.response.json().results).to.have.lengthOf(1);",
          "  pm.expect(result.status).to.equal('created');",
          "  pm.expect(result.requestId).to.be.a('number');",
          '});',
          "pm.environment.set('requestId', String(result.requestId));",
        ],
      }),
      step('Log in', 'POST', '/auth/login', {
        auth: { type: 'noauth' },
        body: jsonBody({ email: '{{adminEmail}}', password: '{{adminPassword}}' }),
        tests: [
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          'const body = pm.response.json();',
          "pm.test('returns a token and the operator', () => {",
          "  pm.expect(body.accessToken).to.be.a('string').and.not.be.empty;",
          "  pm.expect(body.operator.email).to.equal(pm.environment.get('adminEmail'));",
          '});',
          "pm.environment.set('accessToken', body.accessToken);",
          "pm.environment.set('operatorId', String(body.operator.id));",
        ],
      }),
      step('List new requests', 'GET', '/requests?status=new&sort=-id&limit=100', {
        tests: [
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          "const found = pm.response.json().items.find((r) => String(r.id) === pm.environment.get('requestId'));",
          "pm.test('lists the new request with its customer', () => {",
          '  pm.expect(found, "request in the list").to.be.an("object");',
          "  pm.expect(found.status).to.equal('new');",
          "  pm.expect(found.customer.email).to.equal(pm.environment.get('customerEmail'));",
          '});',
        ],
      }),
      step('Take the request', 'POST', '/requests/{{requestId}}/assign', {
        body: jsonBody({}),
        tests: [
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          "pm.test('is in progress and mine', () => {",
          '  const body = pm.response.json();',
          "  pm.expect(body.status).to.equal('in_progress');",
          "  pm.expect(String(body.operator.id)).to.equal(pm.environment.get('operatorId'));",
          '});',
        ],
      }),
      step('Reply to the customer', 'POST', '/requests/{{requestId}}/messages', {
        body: jsonBody({ text: 'A technician is on the way.' }),
        tests: [
          "pm.test('answers 201', () => pm.response.to.have.status(201));",
          "pm.test('stores an outgoing operator message', () => {",
          '  const body = pm.response.json();',
          "  pm.expect(body.direction).to.equal('out');",
          "  pm.expect(body.kind).to.equal('operator');",
          "  pm.expect(body.text).to.equal('A technician is on the way.');",
          "  pm.expect(String(body.requestId)).to.equal(pm.environment.get('requestId'));",
          '});',
        ],
      }),
      step('Read the conversation', 'GET', '/requests/{{requestId}}/messages', {
        tests: [
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          "pm.test('holds the customer mail first and the reply', () => {",
          '  const items = pm.response.json().items;',
          "  pm.expect(items[0].direction).to.equal('in');",
          "  pm.expect(items.some((m) => m.kind === 'operator' && m.text === 'A technician is on the way.')).to.be.true;",
          '});',
        ],
      }),
      step('Close the request', 'POST', '/requests/{{requestId}}/close', {
        tests: [
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          "pm.test('is closed', () => {",
          '  const body = pm.response.json();',
          "  pm.expect(body.status).to.equal('closed');",
          '  pm.expect(body.closedAt).to.be.a("string");',
          '});',
        ],
      }),
    ],
  };
}

/**
 * The collection's pre-request script: the bearer token of every operator route is the personal
 * access token `apiToken` when the environment has one (POST /auth/tokens; no login needed), else
 * the `accessToken` the Happy path's "Log in" step stored.
 */
const BEARER_SCRIPT = [
  "pm.variables.set('bearerToken', pm.environment.get('apiToken') || pm.environment.get('accessToken') || '');",
];

/** A folder run with a read-only personal access token in `apiToken`: reads work, writes answer 403. */
export function readOnlyFolder() {
  return {
    name: READ_ONLY,
    description:
      "Set `apiToken` to a token made with POST /auth/tokens and `{\"scope\": \"read\"}` (no password needed): every operator route of the collection then uses it instead of the login's `accessToken`. A read token makes GET and HEAD calls only.",
    item: [
      step('List requests with the token', 'GET', '/requests?sort=-id&limit=5', {
        tests: [
          "pm.test('apiToken is set', () => pm.expect(pm.environment.get('apiToken')).to.match(/^mdt_/));",
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          'const items = pm.response.json().items;',
          "pm.test('lists requests', () => pm.expect(items).to.be.an('array'));",
          "if (items.length) pm.environment.set('requestId', String(items[0].id));",
        ],
      }),
      step('Read a conversation with the token', 'GET', '/requests/{{requestId}}/messages', {
        tests: [
          "pm.test('answers 200', () => pm.response.to.have.status(200));",
          "pm.test('holds messages', () => pm.expect(pm.response.json().items).to.be.an('array'));",
        ],
      }),
      step('Writing with a read-only token is refused', 'POST', '/saved-replies', {
        body: jsonBody({ name: 'Written with a read-only token', text: 'Never stored' }),
        tests: [
          "pm.test('answers 403', () => pm.response.to.have.status(403));",
          "pm.test('says the token is read-only', () => pm.expect(pm.response.json().message).to.match(/read-only/));",
        ],
      }),
    ],
  };
}

/** Converts the OpenAPI document (openapi-to-postmanv2) and adds the happy path and the auth setup. */
export async function buildCollection(doc) {
  const converter = require('openapi-to-postmanv2');
  const output = await new Promise((resolve, reject) =>
    converter.convert(
      { type: 'json', data: doc },
      { folderStrategy: 'Tags', requestNameSource: 'Fallback', parametersResolution: 'Example', includeAuthInfoInExample: false },
      (err, res) => (err ? reject(err) : res.result ? resolve(res.output[0].data) : reject(new Error(res.reason))),
    ),
  );
  setAuth(doc, output.item);
  const collection = {
    info: { ...output.info, _postman_id: stableId('maildesk collection') },
    item: [happyPath(), readOnlyFolder(), ...output.item],
    auth: bearer('{{bearerToken}}'),
    event: [{ listen: 'prerequest', script: { type: 'text/javascript', exec: BEARER_SCRIPT } }],
    variable: [{ key: 'baseUrl', value: DEFAULT_BASE_URL, type: 'string' }],
  };
  stabilizeIds(collection.item);
  return collection;
}

/**
 * The environment to import beside the collection: fill in the password and the inbound token, or
 * a personal access token (`apiToken`), used instead of logging in when set.
 */
export function buildEnvironment() {
  const v = (key, value, type = 'default') => ({ key, value, type, enabled: true });
  return {
    id: stableId('maildesk environment'),
    name: 'MailDesk (local)',
    values: [
      v('baseUrl', DEFAULT_BASE_URL),
      v('adminEmail', 'admin@localhost'),
      v('adminPassword', '', 'secret'),
      v('inboundToken', '', 'secret'),
      v('accessToken', '', 'secret'),
      v('apiToken', '', 'secret'),
      v('operatorId', ''),
      v('requestId', ''),
      v('customerEmail', ''),
    ],
    _postman_variable_scope: 'environment',
  };
}

/** `METHOD /path name` of every request in the collection, folder by folder (what the test compares). */
export function requestList(collection) {
  const out = [];
  const walk = (items, folder) => {
    for (const i of items) {
      if (i.item) walk(i.item, i.name);
      else out.push(`${folder} | ${i.request.method} /${i.request.url.path.join('/')} | ${i.name}`);
    }
  };
  walk(collection.item, '');
  return out;
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Boots the built app on a throwaway embedded database; resolves with its base URL and a stop(). */
async function bootApp() {
  const main = path.join(ROOT, 'dist', 'src', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} does not exist: run npm run build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-postman-'));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|SMTP_URL|IMAP_URL|NODE_OPTIONS)$/.test(k)));
  const proc = spawn(process.execPath, [main], {
    cwd: dir,
    env: { ...env, DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'log', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const deadline = Date.now() + 90_000;
  while (!/ready in \d+ ms/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`the app exited:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`the app did not start in 90 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fetches /docs-json from `base` (or a freshly booted app) and writes both files into `outDir`. */
export async function generate({ url, outDir }) {
  const app = url ? null : await bootApp();
  try {
    const base = (url ?? app.base).replace(/\/+$/, '');
    const res = await fetch(`${base}/docs-json`);
    if (!res.ok) throw new Error(`GET ${base}/docs-json answered ${res.status}`);
    const collection = await buildCollection(await res.json());
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, COLLECTION_FILE), JSON.stringify(collection, null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, ENVIRONMENT_FILE), JSON.stringify(buildEnvironment(), null, 2) + '\n');
    return requestList(collection);
  } finally {
    await app?.stop();
  }
}

function parseArgs(argv) {
  const args = { url: undefined, outDir: path.join(ROOT, 'postman') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--url') args.url = argv[++i];
    else if (argv[i] === '--out') args.outDir = path.resolve(argv[++i]);
    else {
      console.error(`usage: node scripts/postman.mjs [--url http://host:port] [--out dir] (unknown argument ${argv[i]})`);
      process.exit(2);
    }
  }
  return args;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  generate(parseArgs(process.argv.slice(2))).then(
    (requests) => console.log(`wrote ${requests.length} requests to ${COLLECTION_FILE} and ${ENVIRONMENT_FILE}`),
    (e) => {
      console.error(`postman: ${e.message}`);
      process.exit(1);
    },
  );
}
