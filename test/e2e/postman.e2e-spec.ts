import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, startAppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';

const COLLECTION = path.resolve('postman/maildesk.postman_collection.json');
const ENVIRONMENT = path.resolve('postman/maildesk.postman_environment.json');
const ADMIN = { email: 'admin@desk.test', password: 'admin-password-1' };
const INBOUND_TOKEN = 'test-inbound-token-0123456789';

interface PostmanItem {
  name: string;
  item?: PostmanItem[];
  request?: { method: string; url: { path: string[] } };
}

/** `folder | METHOD /path | name` of every request, as scripts/postman.mjs generates them. */
function requestList(file: string): string[] {
  const out: string[] = [];
  const walk = (items: PostmanItem[], folder: string) => {
    for (const i of items) {
      if (i.item) walk(i.item, i.name);
      else out.push(`${folder} | ${i.request!.method} /${i.request!.url.path.join('/')} | ${i.name}`);
    }
  };
  walk((JSON.parse(fs.readFileSync(file, 'utf8')) as { item: PostmanItem[] }).item, '');
  return out;
}

/** Runs a Node script in a child process (newman and openapi-to-postmanv2 do not load in Jest's VM). */
function node(args: string[], timeout = 120_000): Promise<{ code: number; output: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

describe('Postman collection', () => {
  let db: TestDatabase;
  let app: AppProcess;
  let tmp: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-postman-'));
    app = await startAppProcess({
      DATABASE_URL: db.url,
      DATA_DIR: tmp,
      SUPPORT_ADDRESS: 'support@desk.test',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      INBOUND_TOKEN,
      JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
      OUTBOX_POLL_MS: '100',
    });
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * Runs one folder of the collection with newman against the app (`baseUrl` and `vars` as
   * environment variables); asserts it exited 0 with no failure and returns its JSON report's run.
   */
  async function newman(folder: string, vars: Record<string, string>) {
    const report = path.join(tmp, `newman-${folder.replace(/\W+/g, '-')}.json`);
    const envVars = Object.entries({ baseUrl: app.base, ...vars }).flatMap(([k, v]) => ['--env-var', `${k}=${v}`]);
    const { code, output } = await node([
      'node_modules/newman/bin/newman.js',
      'run',
      COLLECTION,
      '--environment',
      ENVIRONMENT,
      '--folder',
      folder,
      ...envVars,
      '--reporters',
      'cli,json',
      '--reporter-json-export',
      report,
      '--color',
      'off',
    ]);
    expect({ code, output: code ? output : '' }).toEqual({ code: 0, output: '' });
    const { run } = JSON.parse(fs.readFileSync(report, 'utf8')) as {
      run: { stats: Record<string, { total: number; failed: number }>; failures: unknown[] };
    };
    expect(run.failures).toEqual([]);
    return run;
  }

  it('runs the "Happy path" folder with newman without a failure', async () => {
    const run = await newman('Happy path', {
      adminEmail: ADMIN.email,
      adminPassword: ADMIN.password,
      inboundToken: INBOUND_TOKEN,
    });
    expect(run.stats.requests).toEqual(expect.objectContaining({ total: 7, failed: 0 }));
    expect(run.stats.assertions.total).toBeGreaterThanOrEqual(14);
    expect(run.stats.assertions.failed).toBe(0);
    // What the folder did is in the database: the request went new -> in_progress -> closed.
    const [request] = await db.dataSource.query(`SELECT id, status FROM requests ORDER BY id DESC LIMIT 1`);
    expect(request.status).toBe('closed');
    const events: Array<{ type: string }> = await db.dataSource.query(
      `SELECT type FROM request_events WHERE request_id = $1 ORDER BY id`,
      [request.id],
    );
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['created', 'assigned', 'closed']));
  });

  it('runs the read-only folder with newman on a read-only API token instead of a login', async () => {
    const login = await fetch(`${app.base}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const made = await fetch(`${app.base}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ name: 'newman', scope: 'read' }),
    });
    expect(made.status).toBe(201);
    const { token } = (await made.json()) as { token: string };
    // No password and no login: the token alone.
    const run = await newman('Read-only with an API token', { apiToken: token });
    expect(run.stats.requests).toEqual(expect.objectContaining({ total: 3, failed: 0 }));
    expect(run.stats.assertions.failed).toBe(0);
    const [used] = await db.dataSource.query(`SELECT last_used_at FROM api_tokens WHERE name = 'newman'`);
    expect(used.last_used_at).not.toBeNull();
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM saved_replies`);
    expect(n).toBe(0);
  });

  it('is up to date with /docs-json (else run npm run postman)', async () => {
    const out = path.join(tmp, 'generated');
    const { code, output } = await node(['scripts/postman.mjs', '--url', app.base, '--out', out]);
    expect({ code, output: code ? output : '' }).toEqual({ code: 0, output: '' });
    const generated = requestList(path.join(out, 'maildesk.postman_collection.json'));
    expect(generated.filter((r) => r.startsWith('Happy path'))).toHaveLength(7);
    expect(generated.filter((r) => r.startsWith('Read-only with an API token'))).toHaveLength(3);
    expect(requestList(COLLECTION)).toEqual(generated);
    expect(JSON.parse(fs.readFileSync(ENVIRONMENT, 'utf8'))).toEqual(
      JSON.parse(fs.readFileSync(path.join(out, 'maildesk.postman_environment.json'), 'utf8')),
    );
  });
});
