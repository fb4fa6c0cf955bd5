import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFIG_VARIABLES } from '../../src/config/config';
import { freePort } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';

const ROOT = process.cwd();
const MAIN = path.join(ROOT, 'dist/src/main.js');

/** util-linux's `script`, which runs a command on a pseudo-terminal (Debian has it in every install). */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Starts the built app (what `npm start` runs) with its standard output on a terminal (`tty`,
 * through `script`) or on a pipe, and resolves with what it printed up to "ready in N ms".
 */
async function startupLines(db: TestDatabase, tty: boolean, extra: Record<string, string> = {}): Promise<string[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-logs-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!(CONFIG_VARIABLES as readonly string[]).includes(k) && k !== 'NODE_OPTIONS') env[k] = v;
  Object.assign(env, {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    NO_COLOR: '1',
    ...extra,
  });
  const node = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)}`;
  // Its own process group, so that the app under `script` is stopped with it.
  const child = tty
    ? spawn('script', ['-qfec', node, '/dev/null'], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, [MAIN], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const end = Date.now() + 60_000;
    while (!/ready in \d+ ms/.test(out)) {
      if (child.exitCode !== null) throw new Error(`the app exited ${child.exitCode}:\n${out}`);
      if (Date.now() > end) throw new Error(`the app did not start within 60 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return out
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const isJson = (line: string) => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};

if (!hasScript && process.env.CI === 'true')
  throw new Error('CI=true and script(1) (util-linux) is missing: the terminal test cannot run');

(hasScript ? describe : describe.skip)('log format of the built app (LOG_FORMAT)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    if (!fs.existsSync(MAIN)) execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
    db = await createTestDatabase();
  }, 150_000);
  afterAll(async () => db?.drop());

  it('prints readable lines on a terminal: time, level, context, message', async () => {
    const lines = await startupLines(db, true);
    const ready = lines.find((l) => /ready in \d+ ms/.test(l))!;
    expect(ready).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[MailDesk\] ready in \d+ ms on http:\/\/127\.0\.0\.1:\d+/);
    expect(lines.filter(isJson)).toEqual([]);
  }, 90_000);

  it('prints one JSON object a line on a terminal when LOG_FORMAT=json', async () => {
    const lines = await startupLines(db, true, { LOG_FORMAT: 'json' });
    expect(lines.filter((l) => !isJson(l))).toEqual([]);
    const ready = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => /ready in/.test(String(l.msg)));
    expect(ready).toMatchObject({ level: 30, context: 'MailDesk', msg: expect.stringMatching(/^ready in \d+ ms/) });
  }, 90_000);

  it('prints JSON when its output is not a terminal (a pipe, a file, a container), and text when LOG_FORMAT=pretty', async () => {
    const piped = await startupLines(db, false);
    expect(piped.filter((l) => !isJson(l))).toEqual([]);
    const pretty = await startupLines(db, false, { LOG_FORMAT: 'pretty' });
    expect(pretty.filter(isJson)).toEqual([]);
    expect(pretty.some((l) => /INFO: \[MailDesk\] ready in \d+ ms/.test(l))).toBe(true);
  }, 120_000);
});
