import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, startAppProcess } from '../setup/app-process';
import { dovecotAvailable, rawMail, startDovecot, TestDovecot, waitFor } from '../setup/dovecot';

const describeImap = dovecotAvailable() ? describe : describe.skip;

const MAILS = 1000;
const ADMIN = { email: 'admin@desk.test', password: 'admin-password-1' };
/** Where the 1,000 mails wait until the measurement starts; one MOVE puts them all in INBOX. */
const STAGING = 'Staging';

/** Percentile (0..100) of a list of durations. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(values: number[]): string {
  return `n=${values.length} p50=${percentile(values, 50).toFixed(1)} p95=${percentile(values, 95).toFixed(1)} p99=${percentile(values, 99).toFixed(1)} max=${Math.max(...values).toFixed(1)} ms`;
}

/**
 * Issue 16, finding 0: `npm start` with only IMAP_URL set runs on the embedded database (PGlite,
 * one session for the whole process) and the API must keep answering while the poller imports.
 * The built app (what `npm start` runs) on a fresh data directory, against a Dovecot holding 1,000
 * mails: logins and lists are timed on the idle server, then during the import of the 1,000.
 * It lives with the reliability suite, which runs one file at a time, so that the latencies it
 * reads are MailDesk's and not another test file's sharing the 2 cores.
 */
describeImap('npm start with IMAP_URL on the embedded database', () => {
  let dovecot: TestDovecot;
  let app: AppProcess;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-embedded-imap-'));

  beforeAll(async () => {
    dovecot = await startDovecot();
    const c = await dovecot.client();
    try {
      await c.mailboxCreate(STAGING);
      // One sender per mail: 1,000 new requests, each with its auto-reply for the outbox.
      for (let i = 0; i < MAILS; i++) {
        await c.append(
          STAGING,
          rawMail({
            from: `customer${i}@customer.test`,
            subject: `Import ${i}`,
            messageId: `import-${i}@customer.test`,
          }),
        );
      }
    } finally {
      await c.logout();
    }
    app = await startAppProcess({
      DATA_DIR: dataDir,
      IMAP_URL: dovecot.url(),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      SUPPORT_ADDRESS: 'support@desk.test',
      // Every login of the measurement comes from this one address.
      LOGIN_RATE_LIMIT: '0',
    });
  }, 120000);

  afterAll(async () => {
    if (process.env.TEST_LOGS) console.log(app?.output());
    await app?.stop();
    await dovecot?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function login(): Promise<{ ms: number; token: string }> {
    const t0 = performance.now();
    const res = await fetch(`${app.base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const body = (await res.json()) as { accessToken: string };
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`login answered ${res.status} after ${ms} ms: ${JSON.stringify(body)}`);
    return { ms, token: body.accessToken };
  }

  async function list(token: string): Promise<{ ms: number; total: number }> {
    const t0 = performance.now();
    const res = await fetch(`${app.base}/requests?limit=20`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { total: number };
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`list answered ${res.status} after ${ms} ms: ${JSON.stringify(body)}`);
    return { ms, total: body.total };
  }

  /** Samples of a metric from GET /metrics whose labels include all of `labels`, summed. */
  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${app.base}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
    }
    return sum;
  }

  interface Waits {
    count: number;
    seconds: number;
    within50: number;
  }

  /** One lane's waits for a database connection (PriorityPool): how many, their total, how many within 50 ms. */
  async function waitsOf(lane: 'api' | 'background'): Promise<Waits> {
    return {
      count: await metric('maildesk_db_connection_wait_seconds_count', { lane }),
      seconds: await metric('maildesk_db_connection_wait_seconds_sum', { lane }),
      within50: await metric('maildesk_db_connection_wait_seconds_bucket', { lane, le: '0.05' }),
    };
  }

  const since = (a: Waits, b: Waits): Waits => ({
    count: b.count - a.count,
    seconds: b.seconds - a.seconds,
    within50: b.within50 - a.within50,
  });

  /** The poller's backlog as /health/ready reports it; the instance must be ready all along. */
  async function backlog(): Promise<number | null> {
    const res = await fetch(`${app.base}/health/ready`);
    const body = (await res.json()) as { imap: { backlog: number | null }; message?: string };
    if (res.status !== 200) throw new Error(`/health/ready answered ${res.status}: ${body.message}`);
    return body.imap.backlog;
  }

  it('answers logins and lists quickly while the poller imports 1,000 mails, and imports them all', async () => {
    // Served from the moment it said "ready" (before the fix the poller's leader lock took the
    // embedded database's one connection, and /health/ready answered 503 within seconds).
    expect((await fetch(`${app.base}/health/live`)).status).toBe(200);
    expect((await fetch(`${app.base}/health/ready`)).status).toBe(200);
    // Idle: the poller leads an empty INBOX.
    await waitFor('the poller to lead', async () => (await backlog()) === 0, 30000);
    const idleLogins: number[] = [];
    const idleLists: number[] = [];
    for (let i = 0; i < 5; i++) await list((await login()).token); // warm-up
    for (let i = 0; i < 30; i++) {
      const l = await login();
      idleLogins.push(l.ms);
      idleLists.push((await list(l.token)).ms);
    }

    // The import: one MOVE brings the 1,000 into INBOX, IDLE tells the poller.
    const c = await dovecot.client();
    try {
      await c.mailboxOpen(STAGING);
      await c.messageMove('1:*', 'INBOX');
    } finally {
      await c.logout();
    }
    const apiBefore = await waitsOf('api');
    const backgroundBefore = await waitsOf('background');
    // This machine's load when the import starts (2 cores, shared with another Jest worker in CI and
    // with other test runs in development): past two runnable processes per core, latencies measure
    // the machine, not MailDesk.
    const load = os.loadavg()[0];
    const started = performance.now();
    const logins: number[] = [];
    const lists: number[] = [];
    let total = 0;
    let during = 0;
    for (let i = 0; i < 100 && total < MAILS && performance.now() - started < 60000; i++) {
      const l = await login();
      const r = await list(l.token);
      total = r.total;
      if (total < MAILS) during++;
      logins.push(l.ms);
      lists.push(r.ms);
    }
    const measuredMs = performance.now() - started;
    const api = since(apiBefore, await waitsOf('api'));
    const background = since(backgroundBefore, await waitsOf('background'));
    const mean = (w: Waits) => (1000 * w.seconds) / Math.max(1, w.count);
    await waitFor(
      'all 1,000 mails imported',
      async () => (await list((await login()).token)).total === MAILS && (await backlog()) === 0,
      180000,
    );
    const importMs = performance.now() - started;
    const report = [
      `idle   login ${stats(idleLogins)}`,
      `idle   list  ${stats(idleLists)}`,
      `import login ${stats(logins)}`,
      `import list  ${stats(lists)}`,
      `${during} of ${logins.length} pairs while the import ran (${Math.round(measuredMs)} ms); import of ${MAILS} took ${Math.round(importMs)} ms`,
      `waits for the database connection during the import: API ${api.within50} of ${api.count} within 50 ms, mean ${mean(api).toFixed(1)} ms; background ${background.within50} of ${background.count}, mean ${mean(background).toFixed(1)} ms`,
      `load average at the start: ${load.toFixed(1)} on ${os.cpus().length} cores`,
    ].join('\n');
    console.log(report);
    // Every one of the 1,000 went through the pipeline once, as a new request.
    expect(await metric('maildesk_mails_ingested_total', { source: 'imap' })).toBe(MAILS);
    expect(await metric('maildesk_mails_ingested_total', { source: 'imap', result: 'created' })).toBe(MAILS);
    expect(app.output()).not.toMatch(/timeout exceeded|dispatch failed|SLA check failed|-> 5\d\d/);
    expect(during).toBeGreaterThanOrEqual(25);
    const calm = load <= 2 * os.cpus().length;
    // The mechanisms: the API does not queue behind the background jobs for the database's one
    // connection (PriorityPool), at most behind the statement or transaction holding it (how long
    // that takes depends on the machine's load); and background work steps aside for the requests
    // in flight (yieldToApi), so that they have the CPU.
    expect(api.count).toBeGreaterThan(2 * logins.length);
    expect(background.count).toBeGreaterThan(MAILS);
    expect(api.within50 / api.count).toBeGreaterThanOrEqual(calm ? 0.97 : 0.9);
    // The latencies: lists within 100 ms at p99; a login costs its argon2 hash (measured idle
    // above), and may take at most three times its idle p99 (or 100 ms): the CPU is shared with the
    // import. On a machine busier than that (see `load`) they measure the other processes:
    // reported, not asserted.
    if (calm) {
      expect(percentile(lists, 99)).toBeLessThan(100);
      expect(percentile(logins, 99)).toBeLessThan(Math.max(100, 3 * percentile(idleLogins, 99)));
    } else {
      console.warn(`load average ${load.toFixed(1)} on ${os.cpus().length} cores: latency bounds not asserted`);
    }
  }, 300000);
});
