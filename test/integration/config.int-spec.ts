import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config';

const ROOT = process.cwd();
const MAIN = path.join(ROOT, 'dist/src/main.js');

/** Variables named in .env.sample, each with the comment line above it. */
function sampleEntries(): Array<{ name: string; value: string; comment: string }> {
  const lines = fs.readFileSync(path.join(ROOT, '.env.sample'), 'utf8').split(/\r?\n/);
  const out: Array<{ name: string; value: string; comment: string }> = [];
  lines.forEach((line, i) => {
    const m = /^\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out.push({ name: m[1], value: m[2].trim(), comment: (lines[i - 1] ?? '').trim() });
  });
  return out;
}

/** The environment of a child process: nothing of ours that MailDesk would read. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!(CONFIG_VARIABLES as readonly string[]).includes(k)) env[k] = v;
  delete env.NODE_OPTIONS;
  return { ...env, ...extra };
}

describe('configuration', () => {
  it('.env.sample lists exactly the variables loadConfig reads, each with a comment', () => {
    const entries = sampleEntries();
    expect(entries.map((e) => e.name).sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
    for (const e of entries)
      expect({ name: e.name, comment: e.comment.startsWith('#') }).toEqual({ name: e.name, comment: true });
  });

  it('.env.sample carries no secret values, and its values pass loadConfig', () => {
    const entries = sampleEntries();
    for (const name of ['ADMIN_PASSWORD', 'JWT_SECRET', 'INBOUND_TOKEN']) {
      expect({ name, value: entries.find((e) => e.name === name)?.value }).toEqual({ name, value: '' });
    }
    const env = Object.fromEntries(entries.map((e) => [e.name, e.value]));
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('loadConfig rejects a bad value with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/);
    expect(() => loadConfig({ SMTP_URL: 'ftp://mail' })).toThrow(/SMTP_URL/);
    expect(() => loadConfig({ LOG_LEVEL: 'chatty' })).toThrow(/LOG_LEVEL/);
  });

  describe('the built application', () => {
    beforeAll(() => {
      if (!fs.existsSync(MAIN))
        execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
    }, 130_000);

    it('exits 1 with one line naming PORT when PORT=abc', () => {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-cfg-'));
      try {
        const r = spawnSync(process.execPath, [MAIN], {
          cwd,
          env: cleanEnv({ PORT: 'abc', DATA_DIR: path.join(cwd, 'data') }),
          encoding: 'utf8',
          timeout: 20_000,
        });
        expect(r.status).toBe(1);
        const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain('PORT');
        expect(lines[0]).not.toMatch(/\bat .*:\d+/);
        expect(fs.existsSync(path.join(cwd, 'data'))).toBe(false);
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  });
});
