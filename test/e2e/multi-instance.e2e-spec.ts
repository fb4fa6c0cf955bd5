import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, startAppProcess } from '../setup/app-process';
import { createTestDatabase, TestDatabase } from '../setup/database';
import { dovecotAvailable, rawMail as imapMail, startDovecot, TestDovecot, waitFor } from '../setup/dovecot';
import { rawMail } from '../setup/mail';
import { nginxAvailable, startNginx, TestNginx } from '../setup/nginx';
import { SmtpSink } from '../setup/smtp-sink';

/**
 * Two instances of the built app on one database, behind nginx/maildesk.conf: webhook load is
 * spread over both, IMAP is imported by one leader, each outbox mail is sent once, and a SIGKILLed
 * instance loses nothing that was acknowledged while nginx routes around it.
 */

const TOKEN = 'multi-instance-inbound-token-0123';
const enabled = nginxAvailable() && dovecotAvailable();

/** POSTs one raw mail through nginx until it is acknowledged (200), as a relay would retry. */
async function deliver(base: string, raw: Buffer, tries = 30): Promise<{ attempts: number; failures: number[] }> {
  const failures: number[] = [];
  for (let attempt = 1; attempt <= tries; attempt++) {
    const res = await fetch(`${base}/inbound/mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822' },
      body: raw,
    }).catch(() => null);
    if (res?.status === 200) {
      const body = (await res.json()) as { results: Array<{ status: string }> };
      if (['created', 'appended', 'duplicate'].includes(body.results[0].status)) return { attempts: attempt, failures };
    }
    failures.push(res?.status ?? 0);
    await res?.arrayBuffer().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not acknowledged after ${tries} tries: ${failures.join(',')}`);
}

/** Runs `jobs` with at most `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, job: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await job(items[i], i);
      }
    }),
  );
}

/** Sum of one Prometheus counter's samples whose labels contain `labels`. */
function counter(metrics: string, name: string, labels: string): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

(enabled ? describe : describe.skip)('two instances behind nginx', () => {
  let db: TestDatabase;
  let sink: SmtpSink;
  let dovecot: TestDovecot;
  let nginx: TestNginx;
  const apps: AppProcess[] = [];
  const dirs: string[] = [];
  const sql = <T = Record<string, unknown>>(q: string, p: unknown[] = []): Promise<T[]> =>
    db.dataSource.query<T[]>(q, p);

  beforeAll(async () => {
    [db, sink, dovecot] = await Promise.all([createTestDatabase(), SmtpSink.start(), startDovecot()]);
    const env = (dataDir: string) => ({
      DATABASE_URL: db.url,
      SMTP_URL: sink.url,
      IMAP_URL: dovecot.url(),
      IMAP_POLL_SECONDS: '1',
      INBOUND_TOKEN: TOKEN,
      JWT_SECRET: 'multi-instance-jwt-secret-0123456789',
      ADMIN_EMAIL: 'admin@desk.test',
      ADMIN_PASSWORD: 'admin-password-1',
      SUPPORT_ADDRESS: 'support@desk.test',
      OUTBOX_POLL_MS: '200',
      WEBHOOK_RATE_LIMIT: '0',
      TRUST_PROXY: 'loopback',
      DATA_DIR: dataDir,
    });
    for (let i = 0; i < 2; i++) dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-multi-')));
    apps.push(...(await Promise.all(dirs.map((d) => startAppProcess(env(d))))));
    // The load test measures failover, not the per-IP webhook limit (all clients are 127.0.0.1 here).
    nginx = await startNginx({ upstreams: apps.map((a) => Number(new URL(a.base).port)), inboundRate: '2000r/s' });
  }, 90_000);

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(apps.filter((a) => a.proc.exitCode === null && a.proc.signalCode === null).map((a) => a.stop()));
    await Promise.all([dovecot?.stop(), sink?.stop(), db?.drop()]);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }, 30_000);

  it('spreads webhook load over both instances and sends each auto-reply exactly once', async () => {
    const mails = Array.from({ length: 40 }, (_, i) =>
      rawMail({ from: `spread${i}@customer.test`, subject: `Spread ${i}`, messageId: `spread-${i}@customer.test` }),
    );
    await pool(mails, 6, async (raw) => void (await deliver(nginx.base, raw)));

    const ports = apps.map((a) => new URL(a.base).port);
    const served = nginx.accessLog().filter((l) => l.includes('"POST /inbound/mail'));
    expect(served).toHaveLength(40);
    for (const port of ports) expect(served.some((l) => l.includes(`upstream=127.0.0.1:${port} `))).toBe(true);

    // Every request got its creation auto-reply, sent by one of the two dispatchers, once.
    await sink.waitFor(40, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    const ids = sink.mails.map((m) => m.parsed.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    const outbox = await sql<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM outbox GROUP BY status`,
    );
    expect(outbox).toEqual([{ status: 'sent', n: sink.mails.length }]);
    expect(sink.mails.length).toBe(40);
  }, 40_000);

  it('imports each IMAP message once, through the one instance that holds the leader lock', async () => {
    const raws = Array.from({ length: 20 }, (_, i) =>
      imapMail({ from: `imap${i}@customer.test`, subject: `By IMAP ${i}`, messageId: `imap-${i}@customer.test` }),
    );
    await dovecot.appendMany('support@example.test', raws);
    await waitFor('20 IMAP mails in the database', async () => {
      const [{ n }] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM inbound_mail WHERE source = 'imap'`);
      return n === 20;
    });
    const ready = await Promise.all(
      apps.map(async (a) => (await (await fetch(`${a.base}/health/ready`)).json()) as { imap: { leader: boolean } }),
    );
    expect(ready.map((r) => r.imap.leader).filter(Boolean)).toHaveLength(1);
    const metrics = await Promise.all(apps.map(async (a) => (await fetch(`${a.base}/metrics`)).text()));
    const imported = metrics.map((m) => counter(m, 'maildesk_mails_ingested_total', 'source="imap"'));
    // One instance ingested all 20, none twice (a second import would count as a duplicate).
    expect(imported.sort()).toEqual([0, 20]);
  }, 30_000);

  it('routes around an instance SIGKILLed under load and loses nothing it acknowledged', async () => {
    const mails = Array.from({ length: 60 }, (_, i) =>
      rawMail({ from: `kill${i}@customer.test`, subject: `Under load ${i}`, messageId: `kill-${i}@customer.test` }),
    );
    const acknowledged: string[] = [];
    const retried: number[] = [];
    let killed: Promise<void> | undefined;
    const before = nginx.accessLog().length;
    await pool(mails, 6, async (raw, i) => {
      const r = await deliver(nginx.base, raw);
      acknowledged.push(`kill-${i}@customer.test`);
      retried.push(...r.failures);
      if (acknowledged.length === 15) killed = apps[1].kill();
    });
    await killed;
    expect(apps[1].proc.signalCode).toBe('SIGKILL');
    expect(acknowledged).toHaveLength(60);

    const rows = await sql<{ message_id: string; n: number }>(
      `SELECT message_id, count(*)::int AS n FROM messages WHERE message_id = ANY($1) GROUP BY message_id`,
      [acknowledged],
    );
    expect(rows).toHaveLength(60);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const [{ n }] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM inbound_mail WHERE message_id = ANY($1)`, [
      acknowledged,
    ]);
    expect(n).toBe(60);

    // After the kill, nginx kept answering from the survivor.
    const dead = new URL(apps[1].base).port;
    const after = nginx
      .accessLog()
      .slice(before)
      .filter((l) => l.includes('"POST /inbound/mail'));
    const last = after.slice(-10);
    expect(last.every((l) => / 200 /.test(l) && !l.includes(`upstream=127.0.0.1:${dead} `))).toBe(true);
    // At most the requests in flight on the killed instance failed (and were retried).
    expect(retried.length).toBeLessThanOrEqual(12);
  }, 40_000);

  it('passes the request id through nginx into the answer, and rate-limits logins per client', async () => {
    const own = await fetch(`${nginx.base}/requests/1`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(own.status).toBe(401);
    expect(own.headers.get('x-request-id')).toBe('trace-abc-123');
    expect(((await own.json()) as { requestId: string }).requestId).toBe('trace-abc-123');
    const generated = await fetch(`${nginx.base}/requests/1`);
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{32}$/); // nginx's $request_id
    expect(((await generated.json()) as { requestId: string }).requestId).toBe(id);
    expect(nginx.accessLog().some((l) => l.endsWith(`rid=${id}`))).toBe(true);

    const gz = await fetch(`${nginx.base}/docs-json`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');

    // At once (a login takes a while: argon2), so nginx's 10 per minute barely refills.
    const statuses = await Promise.all(
      Array.from({ length: 9 }, async () => {
        const res = await fetch(`${nginx.base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'admin@desk.test', password: 'wrong-password' }),
        });
        return res.status;
      }),
    );
    // 10 per minute with a burst of 5: 6 reach the app (401), the rest stop at nginx.
    expect(statuses.sort()).toEqual([401, 401, 401, 401, 401, 401, 429, 429, 429]);
  }, 20_000);
});
