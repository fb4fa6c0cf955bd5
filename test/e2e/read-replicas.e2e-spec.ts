import { createTestApp, createTestAppOn, type TestApp } from '../setup/app';
import type { TestDatabase } from '../setup/database';
import { waitFor } from '../setup/mail';
import { createStandby, type Standby } from '../setup/standby';

/**
 * Read replicas (docs/replicas.md) against a real streaming standby of the test server, created
 * for this file (test/setup/standby.ts), and two instances of the app on one database.
 */
const MAX_LAG_MS = 4000;

let standby: Standby | undefined;
let a: TestApp;
let b: TestApp;
let admin: string;
let op: { id: number; token: string };

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A request written straight to the primary: no operator's change, so nobody's read position moves. */
async function insertRequest(db: TestDatabase, email: string, subject: string): Promise<number> {
  const [c] = await db.dataSource.query(`INSERT INTO customers (email, name) VALUES ($1, $2) RETURNING id`, [
    email,
    email.split('@')[0],
  ]);
  const [r] = await db.dataSource.query(
    `INSERT INTO requests (customer_id, subject, status, created_at, updated_at, search_vector)
     VALUES ($1, $2, 'new', now(), now(), strip(to_tsvector('simple', $2))) RETURNING id`,
    [c.id, subject],
  );
  return r.id as number;
}

async function replicaOf(t: TestApp): Promise<{ healthy: boolean; lagMs: number | null; reason: string | null }> {
  const res = await t.http().get('/health/ready');
  expect(res.status).toBe(200);
  expect(res.body.replicas).toHaveLength(1);
  return res.body.replicas[0];
}

/** The standby has replayed everything the primary has written, and both instances have seen it. */
async function caughtUp(): Promise<void> {
  const [{ lsn }] = await a.db.dataSource.query(`SELECT pg_current_wal_lsn()::text AS lsn`);
  await waitFor(async () => {
    const [r] = await standby!.query<{ ok: boolean }>(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok`, [lsn]);
    return r.ok;
  });
  // Two checks of each instance (one a second) after the standby got there.
  await new Promise((r) => setTimeout(r, 2200));
  for (const t of [a, b]) await waitFor(async () => (await replicaOf(t)).healthy);
}

async function pauseReplay(): Promise<void> {
  await standby!.query(`SELECT pg_wal_replay_pause()`);
  await waitFor(async () => {
    const [r] = await standby!.query<{ state: string }>(`SELECT pg_get_wal_replay_pause_state() AS state`);
    return r.state === 'paused';
  });
}

const ids = (res: { body: { items: Array<{ id: number }> } }) => res.body.items.map((i) => i.id);
const today = new Date().toISOString().slice(0, 10);
const REPORT = `/reports/summary?from=${today}&to=${today}&tz=UTC`;

beforeAll(async () => {
  standby = await createStandby();
  if (!standby) return;
  const env = (db: TestDatabase) => ({
    DATABASE_URL: db.url,
    DATABASE_REPLICA_URLS: standby!.url(new URL(db.url).pathname.slice(1)),
    DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
  });
  a = await createTestApp(env);
  b = await createTestAppOn(a.db, env(a.db));
  admin = await a.adminToken();
  op = await a.createOperator({ name: 'Olga', email: 'olga@desk.test', password: 'olga-password-1' });
}, 120_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
  standby?.remove();
}, 60_000);

describe('read replicas (DATABASE_REPLICA_URLS) on a real streaming standby', () => {
  it('serves lists, searches, reports and exports from the standby, and an operator their own change from the primary, on either instance', async () => {
    if (!standby) return;
    const r1 = await insertRequest(a.db, 'alice@example.com', 'Printer on fire');
    await caughtUp();
    await pauseReplay();
    try {
      // Written on the primary while the standby stands still: not in what the standby serves.
      const r2 = await insertRequest(a.db, 'bob@example.com', 'Unrelated invoice question');
      for (const t of [a, b]) {
        for (const token of [admin, op.token]) {
          const list = await t.http().get('/requests').set(auth(token));
          expect(list.status).toBe(200);
          expect(ids(list)).toContain(r1);
          expect(ids(list)).not.toContain(r2);
          const search = await t.http().get('/requests?q=invoice').set(auth(token));
          expect(search.status).toBe(200);
          expect(search.body.total).toBe(0);
          const report = await t.http().get(REPORT).set(auth(token));
          expect(report.status).toBe(200);
          expect(report.body.requests.created).toBe(1);
        }
        const customers = await t.http().get('/customers').set(auth(admin));
        expect(customers.status).toBe(200);
        expect(customers.body.items.map((c: { email: string }) => c.email)).toEqual(['alice@example.com']);
      }

      // Olga's own change, through instance a: her next reads, on instance b too, come from the primary.
      const tagged = await a
        .http()
        .put(`/requests/${r1}/tags`)
        .set(auth(op.token))
        .send({ tags: ['vip'] });
      expect(tagged.status).toBe(200);
      const mine = await b.http().get('/requests?tag=vip').set(auth(op.token));
      expect(mine.status).toBe(200);
      expect(ids(mine)).toEqual([r1]);
      expect(ids(await a.http().get('/requests').set(auth(op.token)))).toContain(r2);
      // The admin changed nothing since: still the standby's view, without Olga's change.
      for (const t of [a, b]) {
        const others = await t.http().get('/requests?tag=vip').set(auth(admin));
        expect(others.status).toBe(200);
        expect(ids(others)).toEqual([]);
        // The audit log and its CSV export: Olga's change is not there yet either.
        const audit = await t.http().get('/audit').set(auth(admin));
        expect(audit.status).toBe(200);
        expect(audit.body.items.some((e: { actorOperatorId: number | null }) => e.actorOperatorId === op.id)).toBe(
          false,
        );
        const csv = await t.http().get('/audit').set(auth(admin)).set('Accept', 'text/csv');
        expect(csv.status).toBe(200);
        expect(csv.headers['content-type']).toMatch(/^text\/csv/);
        expect(csv.text).not.toContain('vip');
      }
    } finally {
      await standby.query(`SELECT pg_wal_replay_resume()`);
    }
    await caughtUp();
    const after = await b.http().get('/requests?tag=vip').set(auth(admin));
    expect(ids(after)).toEqual([r1]);
  }, 90_000);

  it('skips a standby lagging beyond DATABASE_REPLICA_MAX_LAG_MS, and takes it back once caught up', async () => {
    if (!standby) return;
    await caughtUp();
    await pauseReplay();
    let r3: number;
    try {
      r3 = await insertRequest(a.db, 'carol@example.com', 'Lagging behind');
      const skipped = await waitFor(async () => {
        const r = await replicaOf(a);
        return !r.healthy && r;
      }, MAX_LAG_MS + 5000);
      expect(skipped.reason).toMatch(/lags \d+ ms, more than DATABASE_REPLICA_MAX_LAG_MS=4000/);
      // Everybody's reads on the primary meanwhile.
      const list = await a.http().get('/requests').set(auth(admin));
      expect(list.status).toBe(200);
      expect(ids(list)).toContain(r3);
      const metrics = await a.http().get('/metrics');
      expect(metrics.text).toMatch(/maildesk_db_replica_healthy\{replica="127\.0\.0\.1:\d+\/maildesk_test_\w+"\} 0/);
    } finally {
      await standby.query(`SELECT pg_wal_replay_resume()`);
    }
    await caughtUp();
    const r = await replicaOf(a);
    expect(r).toMatchObject({ healthy: true, reason: null });
    expect(r.lagMs).toBeLessThanOrEqual(MAX_LAG_MS);
    expect((await a.http().get('/metrics')).text).toMatch(/maildesk_db_replica_healthy\{replica="[^"]+"\} 1/);
  }, 90_000);

  it('answers lists, searches, reports and exports from the primary while the standby is down, and uses it again once back', async () => {
    if (!standby) return;
    await caughtUp();
    standby.stop();
    try {
      const r4 = await insertRequest(a.db, 'dave@example.com', 'Standby is down');
      // At once, before a check saw it: the standby's connections fail, and the reads go to the primary.
      for (const t of [a, b]) {
        const list = await t.http().get('/requests').set(auth(admin));
        expect(list.status).toBe(200);
        expect(ids(list)).toContain(r4);
        expect((await t.http().get('/requests?q=standby').set(auth(op.token))).body.total).toBe(1);
        expect((await t.http().get('/customers?q=dave').set(auth(admin))).body.total).toBe(1);
        expect((await t.http().get(REPORT).set(auth(op.token))).status).toBe(200);
        expect((await t.http().get('/audit').set(auth(admin)).set('Accept', 'text/csv')).status).toBe(200);
      }
      // Ready all the same: the standby is listed as skipped.
      const down = await waitFor(async () => {
        const r = await replicaOf(b);
        return !r.healthy && r;
      });
      // Marked down by whichever saw it first: a read on it (above) or the background check.
      expect(down.reason).toMatch(/^(unreachable|a read failed): /);
      expect(down.lagMs).toBeNull();
    } finally {
      await standby.start();
    }
    await caughtUp();
    expect((await a.http().get('/requests').set(auth(admin))).status).toBe(200);
    expect((await a.http().get('/metrics')).text).toMatch(/maildesk_db_replica_reads_total\{target="replica"\} [1-9]/);
  }, 120_000);
});
