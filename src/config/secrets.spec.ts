import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from './config';
import { resolveSecrets } from './secrets';

describe('resolveSecrets (DATA_DIR/secrets.json)', () => {
  let dir: string;
  const file = () => path.join(dir, 'secrets.json');
  const mode = () => fs.statSync(file()).mode & 0o777;
  const config = (env: Record<string, string> = {}) => loadConfig({ DATA_DIR: dir, ...env });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-secrets-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates both at the first start (mode 0600) and says the inbound token was generated only then', () => {
    const first = config();
    expect(resolveSecrets(first).inboundTokenGenerated).toBe(true);
    expect(mode()).toBe(0o600);
    const second = config();
    expect(resolveSecrets(second).inboundTokenGenerated).toBe(false);
    expect(second.inbound.token).toBe(first.inbound.token);
    expect(second.auth.jwtSecret).toBe(first.auth.jwtSecret);
    expect(fs.readdirSync(dir)).toEqual(['secrets.json']);
  });

  it('does not rewrite the file when nothing is missing', () => {
    resolveSecrets(config());
    const before = fs.statSync(file());
    fs.chmodSync(file(), 0o600);
    resolveSecrets(config());
    const after = fs.statSync(file());
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('adds a missing secret by replacing the file atomically (a new file renamed over it), mode 0600, no temp file left', () => {
    fs.writeFileSync(file(), JSON.stringify({ inboundToken: 'kept-inbound-token-0123456789' }), { mode: 0o644 });
    fs.chmodSync(file(), 0o644);
    const before = fs.statSync(file()).ino;
    const c = config();
    expect(resolveSecrets(c).inboundTokenGenerated).toBe(false);
    expect(c.inbound.token).toBe('kept-inbound-token-0123456789');
    expect(c.auth.jwtSecret).toMatch(/^[\w-]{32,}$/);
    expect(fs.statSync(file()).ino).not.toBe(before);
    expect(mode()).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['secrets.json']);
    expect(JSON.parse(fs.readFileSync(file(), 'utf8'))).toEqual({
      inboundToken: 'kept-inbound-token-0123456789',
      jwtSecret: c.auth.jwtSecret,
    });
  });

  it('tightens an existing file readable by others to 0600, and says so', () => {
    resolveSecrets(config());
    fs.chmodSync(file(), 0o644);
    const r = resolveSecrets(config());
    expect(mode()).toBe(0o600);
    expect(r.warnings.join('\n')).toMatch(/secrets\.json.*0644.*0600/);
    expect(resolveSecrets(config()).warnings).toEqual([]);
  });

  it('leaves the file alone when the environment gives both', () => {
    resolveSecrets(
      config({ INBOUND_TOKEN: 'env-inbound-token-0123456789', JWT_SECRET: 'env-jwt-secret-0123456789abcdef' }),
    );
    expect(fs.existsSync(file())).toBe(false);
  });

  const built = path.resolve('dist/src/config/secrets.js');
  (fs.existsSync(built) ? it : it.skip)(
    'instances starting together on one DATA_DIR end up with the same secrets (the first creation wins)',
    async () => {
      const script = `
        const { loadConfig } = require(${JSON.stringify(path.resolve('dist/src/config/config.js'))});
        const { resolveSecrets } = require(${JSON.stringify(built)});
        const c = loadConfig({ DATA_DIR: process.argv[1] });
        const r = resolveSecrets(c);
        process.stdout.write(JSON.stringify({ token: c.inbound.token, jwt: c.auth.jwtSecret, generated: r.inboundTokenGenerated }));`;
      const run = () =>
        new Promise<{ token: string; jwt: string; generated: boolean }>((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`))));
        });
      const results = await Promise.all(Array.from({ length: 6 }, run));
      expect(new Set(results.map((r) => r.token)).size).toBe(1);
      expect(new Set(results.map((r) => r.jwt)).size).toBe(1);
      expect(results.filter((r) => r.generated)).toHaveLength(1);
      expect(JSON.parse(fs.readFileSync(file(), 'utf8'))).toEqual({
        inboundToken: results[0].token,
        jwtSecret: results[0].jwt,
      });
      expect(fs.readdirSync(dir)).toEqual(['secrets.json']);
    },
    30_000,
  );
});
