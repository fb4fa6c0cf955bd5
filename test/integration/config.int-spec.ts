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

  describe('placeholder and sample secrets', () => {
    const SECRET_VARIABLES = ['JWT_SECRET', 'INBOUND_TOKEN', 'INBOUND_HMAC_SECRET', 'METRICS_TOKEN', 'ADMIN_PASSWORD'];
    /** Values the repository's sample files shipped (docker/maildesk.env until issue 16). */
    const SHIPPED = ['change-me-please', 'change-me-to-a-long-random-token', 'change-me-to-a-long-random-secret'];
    /** Sample files an operator copies from: every secret they carry must be refused. */
    const SAMPLE_FILES = [
      'docker/maildesk.env',
      '.env.sample',
      'README.md',
      'docker/docker-compose.yml',
      // The pages, not docs/swagger/'s screenshots.
      ...fs
        .readdirSync('docs')
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const refused = (name: string, value: string) => {
      try {
        loadConfig({ [name]: value });
        return false;
      } catch (e) {
        return /placeholder|sample|guessable/.test((e as Error).message) && (e as Error).message.includes(name);
      }
    };

    it('refuses the values the sample files shipped, for every secret variable', () => {
      for (const name of SECRET_VARIABLES)
        for (const value of SHIPPED)
          expect({ name, value, refused: refused(name, value) }).toMatchObject({ refused: true });
    });

    it('refuses obvious placeholders and low-entropy values, case and separators aside', () => {
      const placeholders = [
        'CHANGE_ME_0123456789abcdef',
        'changeme-changeme-changeme',
        'please-change-this-secret-now-1',
        'replace-me-with-a-real-token',
        'your-secret-token-goes-here',
        '<your-jwt-secret-of-32-chars>',
        'placeholder-0123456789abcdef',
        'example-inbound-token-12345',
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        'abababababababababababab',
        '1111111111111111',
      ];
      for (const value of placeholders)
        for (const name of ['JWT_SECRET', 'INBOUND_TOKEN'])
          expect({ name, value, refused: refused(name, value) }).toMatchObject({ refused: true });
      for (const value of ['password', 'password1', 'changeme', '12345678', 'aaaaaaaa'])
        expect({ value, refused: refused('ADMIN_PASSWORD', value) }).toMatchObject({ refused: true });
    });

    it('accepts generated values and ordinary ones (the words secret, token or test are no placeholder)', () => {
      const ok = {
        JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
        INBOUND_TOKEN: 'f3a9c1e07b2d4458a6e1c9b03d7f2a68',
        INBOUND_HMAC_SECRET: 'Zq3Jx0_Vf7mN2pLr8sT1wYc4',
        METRICS_TOKEN: 'metrics-token-0123456789',
        ADMIN_PASSWORD: 'admin-password-1',
      };
      expect(() => loadConfig(ok)).not.toThrow();
    });

    it('no sample file carries a usable secret: each value given there is refused', () => {
      const given: Array<{ file: string; name: string; value: string }> = [];
      for (const file of SAMPLE_FILES) {
        const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
        for (const m of text.matchAll(
          new RegExp(`\\b(${SECRET_VARIABLES.join('|')})[ \\t]*[=:][ \\t]*["']?([^\\s"'\`;]+)`, 'gm'),
        ))
          if (!/^(\.\.\.|\$\{?\w+\}?)$/.test(m[2])) given.push({ file, name: m[1], value: m[2] });
      }
      for (const g of given) expect({ ...g, refused: refused(g.name, g.value) }).toMatchObject({ refused: true });
    });

    it('never puts the refused value in the message, and tells how to make one', () => {
      let message = '';
      try {
        loadConfig({ JWT_SECRET: 'change-me-to-a-long-random-secret' });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^JWT_SECRET /);
      expect(message).toContain('openssl rand -hex 32');
      expect(message).not.toContain('change-me-to-a-long-random-secret');
    });
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

    it('exits 1 with one line naming JWT_SECRET when it is the sample value docker/maildesk.env shipped', () => {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-cfg-'));
      try {
        const r = spawnSync(process.execPath, [MAIN], {
          cwd,
          env: cleanEnv({ JWT_SECRET: 'change-me-to-a-long-random-secret', DATA_DIR: path.join(cwd, 'data') }),
          encoding: 'utf8',
          timeout: 20_000,
        });
        expect(r.status).toBe(1);
        const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/invalid configuration: JWT_SECRET .*placeholder/);
        expect(fs.existsSync(path.join(cwd, 'data'))).toBe(false);
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  });
});
