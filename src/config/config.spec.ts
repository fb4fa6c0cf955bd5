import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, readDotEnv } from './config';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.http).toEqual({ port: 3000, host: '127.0.0.1', corsOrigins: [] });
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.database.url).toBeUndefined();
    expect(c.smtp.url).toBeUndefined();
    expect(c.imap.url).toBeUndefined();
    expect(c.mail.supportAddress).toBe('support@localhost');
    expect(c.mail.messageIdDomain).toBe('localhost');
    expect(c.admin).toEqual({ email: 'admin@localhost', password: undefined });
    expect(c.inbound.token).toBeUndefined();
    expect(c.auth.jwtSecret).toBeUndefined();
    expect(c.logLevel).toBe('log');
  });

  it('reads and normalizes given values', () => {
    const c = loadConfig({
      PORT: ' 8080 ',
      SUPPORT_ADDRESS: 'Help@Example.COM',
      CORS_ORIGINS: 'https://a.test, https://b.test',
      IMAP_IDLE: 'off',
      DATABASE_URL: 'postgresql://u:p@db:5432/desk',
      SMTP_URL: 'smtps://u:p@mail:465',
    });
    expect(c.http.port).toBe(8080);
    expect(c.mail.supportAddress).toBe('help@example.com');
    expect(c.mail.messageIdDomain).toBe('example.com');
    expect(c.http.corsOrigins).toEqual(['https://a.test', 'https://b.test']);
    expect(c.imap.idle).toBe(false);
    expect(c.database.url).toBe('postgresql://u:p@db:5432/desk');
  });

  it('reads the PgBouncer settings (docs/pgbouncer.md), checked together', () => {
    const direct = loadConfig({ DATABASE_URL: 'postgres://db:5432/desk' }).database;
    expect(direct).toMatchObject({ pooler: 'none', directUrl: undefined, preparedStatements: 'auto' });
    const pooled = loadConfig({
      DATABASE_URL: 'postgres://pgbouncer:6432/desk',
      DATABASE_POOLER: 'pgbouncer',
      DATABASE_DIRECT_URL: 'postgres://db:5432/desk',
    }).database;
    expect(pooled).toMatchObject({
      pooler: 'pgbouncer',
      directUrl: 'postgres://db:5432/desk',
      preparedStatements: 'auto',
    });
    expect(() => loadConfig({ DATABASE_URL: 'postgres://pgbouncer:6432/desk', DATABASE_POOLER: 'pgbouncer' })).toThrow(
      /DATABASE_POOLER=pgbouncer needs DATABASE_DIRECT_URL/,
    );
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '3000.5'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'not a url'],
    ['SMTP_URL', 'http://mail'],
    ['IMAP_URL', 'pop3://mail'],
    ['SUPPORT_ADDRESS', 'nobody'],
    // A comma would make the From and X-Loop lines of every mail we send two addresses.
    ['SUPPORT_ADDRESS', 'help,desk@example.com'],
    ['ADMIN_EMAIL', 'admin'],
    ['ADMIN_PASSWORD', 'short'],
    ['JWT_SECRET', 'too-short'],
    ['INBOUND_TOKEN', 'tiny'],
    ['IMAP_IDLE', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['JWT_TTL_SECONDS', '5'],
    ['OUTBOX_MAX_ATTEMPTS', '-1'],
    ['INBOUND_MAX_BYTES', '12MB'],
    ['DATABASE_POOLER', 'pgpool'],
    ['DATABASE_PREPARED_STATEMENTS', 'yes'],
    // The pooler of an embedded database, and a transaction-mode pooler without a direct URL.
    ['DATABASE_POOLER', 'pgbouncer'],
    ['DATABASE_DIRECT_URL', 'postgres://db:5432/desk'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
  });

  it('never puts a secret value in an error message', () => {
    expect(() => loadConfig({ JWT_SECRET: 'secret123' })).toThrow(/^JWT_SECRET must be at least 16 characters$/);
  });
});

describe('readDotEnv', () => {
  it('fills unset variables from .env without overriding the environment', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-env-'));
    try {
      const file = path.join(dir, '.env');
      fs.writeFileSync(
        file,
        '# comment\nPORT=4000\nexport HOST="0.0.0.0"\nSUPPORT_NAME=\'Help Desk\'\nLOG_LEVEL=debug\n',
      );
      const env: Record<string, string | undefined> = { LOG_LEVEL: 'warn' };
      readDotEnv(env, file);
      expect(env).toEqual({ PORT: '4000', HOST: '0.0.0.0', SUPPORT_NAME: 'Help Desk', LOG_LEVEL: 'warn' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
