import type { INestApplication } from '@nestjs/common';
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { LiveEventsService } from '../../src/events/live-events.service';
import { createTestApp, TEST_ADMIN, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { nginxAvailable, startNginx } from '../setup/nginx';
import { openSse, SseClient, SseEvent } from '../setup/sse';

/**
 * Live events (GET /events/stream, docs/live-events.md) read with node's plain http client:
 * events arrive in id order, as the request history stores them, for the requests the operator may
 * see; a stream resumed with Last-Event-ID gets exactly the events missed; streams end on shutdown.
 * On PostgreSQL also: a change made through one instance reaches a stream on another (LISTEN/NOTIFY),
 * and an event whose transaction commits after a later one's is delivered, in id order, not skipped.
 */

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

interface Data {
  id: number;
  requestId: number;
  type: string;
  groupId: number | null;
  status: string;
}
const data = (e: SseEvent) => JSON.parse(e.data) as Data;
const ids = (events: SseEvent[]) => events.map((e) => Number(e.id));

function listen(app: INestApplication): Promise<number> {
  const server = app.getHttpServer() as http.Server;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A mail to `to` (a mailbox's address: its group's request). */
function mailTo(to: string, from: string, subject: string): Buffer {
  return rawMail({ from, subject, headers: { 'Delivered-To': to } });
}

forEachDatabase('live events', (kind) => {
  let t: TestApp;
  let port: number;
  let admin: string;
  const groups = { billing: 0, sales: 0 };
  let bea: { id: number; token: string };
  const open: SseClient[] = [];

  const stream = async (token: string, headers: Record<string, string> = {}, query = '') => {
    const c = await openSse(port, `/events/stream${query}`, { ...auth(token), ...headers });
    open.push(c);
    return c;
  };
  const history = async (requestId: number): Promise<number[]> =>
    (await t.http().get(`/requests/${requestId}/events`).set(auth(admin)).expect(200)).body.items.map(
      (e: { id: number }) => e.id,
    );
  const ingest = async (raw: Buffer): Promise<number> => {
    const res = await postRaw(t, raw);
    expect(res.status).toBe(200);
    expect(res.body.results[0].status).toBe('created');
    return res.body.results[0].requestId as number;
  };

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000', EVENTS_MAX_STREAMS_PER_OPERATOR: '3' }, kind);
    port = await listen(t.app);
    admin = await t.adminToken();
    for (const name of ['billing', 'sales'] as const) {
      const res = await t.http().post('/groups').set(auth(admin)).send({ name }).expect(201);
      groups[name] = res.body.id;
      // Through the API: this instance's mailbox directory knows the mailbox at once (a row written
      // by SQL would be seen only at its next refresh, and the first mail would go to the default).
      await t
        .http()
        .post('/mailboxes')
        .set(auth(admin))
        .send({ name, address: `${name}@desk.test`, groupId: groups[name] })
        .expect(201);
    }
    bea = await t.createOperator({ name: 'Bea', email: 'bea@desk.test', password: 'bea-password-1' });
    await t
      .http()
      .patch(`/operators/${bea.id}`)
      .set(auth(admin))
      .send({ groupIds: [groups.billing] })
      .expect(200);
    // Bea's token carries no groups: they are read with the operator on every call (and stream).
  });

  let closed = false;
  // Each test starts with no stream open (the per-operator limit counts them).
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    if (!closed) await waitFor(async () => t.app.get(LiveEventsService).streams === 0);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    if (!closed) await t?.close();
  });

  it('streams a new request and the operator actions on it in id order, with SSE headers', async () => {
    const s = await stream(admin);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(s.headers['cache-control']).toMatch(/no-cache/);
    expect(s.headers['x-accel-buffering']).toBe('no');
    expect(s.headers['x-request-id']).toBeDefined();
    const id = await ingest(mailTo('billing@desk.test', 'ann@example.com', 'Printer on fire'));
    await t.http().post(`/requests/${id}/assign`).set(auth(admin)).send({}).expect(200);
    await t.http().post(`/requests/${id}/messages`).set(auth(admin)).send({ text: 'Water, quickly.' }).expect(201);
    await t.http().post(`/requests/${id}/close`).set(auth(admin)).expect(200);
    await s.until((events) => events.some((e) => e.event === 'closed' && data(e).requestId === id));
    // Everything the history holds for it, once each, in its order (the outbox adds events later: compare a prefix).
    const stored = await history(id);
    const got = s.events.filter((e) => data(e).requestId === id);
    expect(ids(got)).toEqual(stored.slice(0, got.length));
    const types = got.map((e) => e.event);
    expect(types[0]).toBe('created');
    // The operator's reply is a `message` event (the customer's first mail may be one too).
    expect(types.indexOf('created')).toBeLessThan(types.indexOf('assigned'));
    expect(types.indexOf('assigned')).toBeLessThan(types.lastIndexOf('message'));
    expect(types.lastIndexOf('message')).toBeLessThan(types.indexOf('closed'));
    const closed = got.find((e) => e.event === 'closed')!;
    expect(data(closed)).toMatchObject({ requestId: id, type: 'closed', groupId: groups.billing, status: 'closed' });
    expect(s.retry).toBeGreaterThan(0);
    // Ids strictly increase over the whole stream.
    const all = ids(s.events);
    expect([...all].sort((a, b) => a - b)).toEqual(all);
    expect(new Set(all).size).toBe(all.length);
  });

  it("shows an operator in groups only those groups' requests; admins see all", async () => {
    const mine = await stream(bea.token);
    const all = await stream(admin);
    const sales = await ingest(mailTo('sales@desk.test', 'bob@example.com', 'Quote please'));
    const billing = await ingest(mailTo('billing@desk.test', 'cid@example.com', 'Invoice wrong'));
    await mine.until((events) => events.some((e) => data(e).requestId === billing));
    await all.until((events) => events.some((e) => data(e).requestId === billing));
    expect(all.events.some((e) => data(e).requestId === sales)).toBe(true);
    // Sales' events came first: a stream that got billing's would have got them by now.
    expect(mine.events.filter((e) => data(e).requestId === sales)).toEqual([]);
    expect(mine.events.every((e) => data(e).groupId === groups.billing)).toBe(true);
  });

  it('resumes after a disconnect with exactly the events missed (Last-Event-ID), then continues live', async () => {
    const first = await stream(admin);
    const id = await ingest(mailTo('billing@desk.test', 'dan@example.com', 'Lost my password'));
    await first.until((events) => events.some((e) => data(e).requestId === id));
    first.close();
    const last = Number(first.events[first.events.length - 1].id);
    // Missed while away: an assignment, a reply, and another customer's new request.
    await t.http().post(`/requests/${id}/assign`).set(auth(admin)).send({}).expect(200);
    await t.http().post(`/requests/${id}/messages`).set(auth(admin)).send({ text: 'Reset it here.' }).expect(201);
    const other = await ingest(mailTo('sales@desk.test', 'eve@example.com', 'New order'));
    const missed = (
      await sql<{ id: string }>(t, `SELECT id FROM request_events WHERE id > $1 ORDER BY id`, [last])
    ).map((r) => Number(r.id));
    expect(missed.length).toBeGreaterThanOrEqual(4);
    const again = await stream(admin, { 'Last-Event-ID': String(last) });
    await again.until((events) => missed.every((m) => ids(events).includes(m)));
    expect(ids(again.events).slice(0, missed.length)).toEqual(missed);
    // Live again: the next change arrives once, after them.
    await t.http().post(`/requests/${other}/assign`).set(auth(admin)).send({}).expect(200);
    await again.until((events) => events.some((e) => e.event === 'assigned' && data(e).requestId === other));
    const got = ids(again.events);
    expect(new Set(got).size).toBe(got.length);
    expect(got.every((g) => g > last)).toBe(true);
    // The query parameter does the same for a first connection; an operator in groups resumes within them.
    const q = await stream(bea.token, {}, `?lastEventId=${last}`);
    await q.until((events) => events.some((e) => data(e).requestId === id && e.event === 'assigned'));
    expect(q.events.some((e) => data(e).requestId === other)).toBe(false);
    q.close();
  });

  it('takes the token as ?access_token= (EventSource sends no header), refuses bad input and too many streams', async () => {
    const viaQuery = await openSse(port, `/events/stream?access_token=${encodeURIComponent(bea.token)}`);
    open.push(viaQuery);
    expect(viaQuery.status).toBe(200);
    const none = await openSse(port, '/events/stream');
    expect(none.status).toBe(401);
    await none.ended;
    const bad = await openSse(port, '/events/stream', { ...auth(admin), 'Last-Event-ID': 'abc' });
    expect(bad.status).toBe(400);
    await bad.ended;
    expect(JSON.parse(bad.body())).toMatchObject({ statusCode: 400 });
    const badQuery = await openSse(port, '/events/stream?lastEventId=-1', auth(admin));
    expect(badQuery.status).toBe(400);
    // Bea's limit is 3 (EVENTS_MAX_STREAMS_PER_OPERATOR): one is open (viaQuery), two more, then 429.
    const more = [await stream(bea.token), await stream(bea.token)];
    expect(more.map((m) => m.status)).toEqual([200, 200]);
    const refused = await openSse(port, '/events/stream', auth(bea.token));
    expect(refused.status).toBe(429);
    await refused.ended;
    expect(refused.headers['retry-after']).toBeDefined();
    // Closing one frees its place.
    more[0].close();
    await more[0].ended;
    const reopened = await (async () => {
      for (let i = 0; i < 100; i++) {
        const c = await openSse(port, '/events/stream', auth(bea.token));
        if (c.status === 200) return c;
        await c.ended;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the closed stream was never released');
    })();
    open.push(reopened);
    viaQuery.close();
    more[1].close();
    reopened.close();
  });

  it('ends open streams when the app shuts down', async () => {
    const s = await stream(admin);
    expect(s.status).toBe(200);
    closed = true;
    await t.close();
    await s.ended;
  });
});

/** The two cases that need PostgreSQL itself: several instances, and transactions committing out of order. */
describe('live events on PostgreSQL', () => {
  let t: TestApp;
  let port: number;
  let admin: string;
  let second: INestApplication | undefined;
  let secondDir: string | undefined;
  const open: SseClient[] = [];

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000' }, 'postgres');
    port = await listen(t.app);
    admin = await t.adminToken();
  });

  afterAll(async () => {
    for (const c of open) c.close();
    await second?.close();
    if (secondDir) fs.rmSync(secondDir, { recursive: true, force: true });
    await t?.close();
  });

  it('delivers a change made through instance 1 to a stream opened on instance 2 (LISTEN/NOTIFY)', async () => {
    if (t.db.embedded) return; // no PostgreSQL server here: the embedded database is one instance by design
    secondDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-test-'));
    const config = loadConfig({
      DATA_DIR: secondDir,
      SUPPORT_ADDRESS: 'support@desk.test',
      ADMIN_EMAIL: TEST_ADMIN.email,
      ADMIN_PASSWORD: TEST_ADMIN.password,
      INBOUND_TOKEN: TEST_INBOUND_TOKEN,
      JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
      LOG_LEVEL: 'warn',
    });
    second = await createApp(config, t.db.url, ['error']);
    await second.init();
    await second.getHttpAdapter().getInstance().ready();
    const port2 = await listen(second);
    const s = await openSse(port2, '/events/stream', auth(admin));
    open.push(s);
    expect(s.status).toBe(200);
    // Instance 2's LISTEN session is up (instance 1 has none: no stream was ever opened there).
    await waitFor(async () => {
      const [row] = await sql<{ n: number }>(
        t,
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'maildesk live events'`,
      );
      return row.n === 1;
    });
    const res = await postRaw(t, rawMail({ from: 'fay@example.com', subject: 'Through instance 1' }));
    const id = res.body.results[0].requestId as number;
    await request(t.app.getHttpServer()).post(`/requests/${id}/assign`).set(auth(admin)).send({}).expect(200);
    // Within 15 s: instance 2 polls the log every 30 s once LISTEN is up, so this is the NOTIFY.
    await s.until((events) => events.some((e) => e.event === 'assigned' && data(e).requestId === id), 15_000);
    const got = s.events.filter((e) => data(e).requestId === id);
    expect(ids(got)).toEqual(
      (await sql<{ id: string }>(t, `SELECT id FROM request_events WHERE request_id = $1 ORDER BY id`, [id]))
        .map((r) => Number(r.id))
        .slice(0, got.length),
    );
  });

  it('holds a later id back until an earlier one commits, then delivers both in id order; skips a rollback', async () => {
    if (t.db.embedded) return;
    const s = await stream();
    const res = await postRaw(t, rawMail({ from: 'gus@example.com', subject: 'Out of order' }));
    const id = res.body.results[0].requestId as number;
    await s.until((events) => events.some((e) => data(e).requestId === id));
    const [a, b] = [new Client({ connectionString: t.db.url }), new Client({ connectionString: t.db.url })];
    await Promise.all([a.connect(), b.connect()]);
    try {
      const insert = `INSERT INTO request_events (request_id, type, actor, data) VALUES ($1, $2, 'system', '{}') RETURNING id`;
      const notify = () => b.query(`SELECT pg_notify('maildesk_events', '')`);
      await a.query('BEGIN');
      const low = Number((await a.query(insert, [id, 'note_low'])).rows[0].id);
      await b.query('BEGIN');
      const high = Number((await b.query(insert, [id, 'note_high'])).rows[0].id);
      expect(high).toBeGreaterThan(low);
      await b.query('COMMIT');
      await notify();
      // A marker committed after `high`: once it would be due, `high` would have been too.
      const probe = await stream(); // a second reader of the same hub: sees nothing past `low` either
      await new Promise((r) => setTimeout(r, 1_000));
      expect(ids(s.events)).not.toContain(high);
      expect(ids(probe.events)).not.toContain(high);
      await a.query('COMMIT');
      // A writer that is not MailDesk NOTIFYs itself (the app does after its commits: LiveEventsService.announce).
      await notify();
      await s.until((events) => ids(events).includes(high));
      const tail = ids(s.events).filter((x) => x >= low);
      expect(tail.slice(0, 2)).toEqual([low, high]);

      // The earlier transaction rolls back instead: the later id is not held back for ever.
      await a.query('BEGIN');
      const gone = Number((await a.query(insert, [id, 'note_gone'])).rows[0].id);
      await b.query('BEGIN');
      const kept = Number((await b.query(insert, [id, 'note_kept'])).rows[0].id);
      await b.query('COMMIT');
      await a.query('ROLLBACK');
      await notify();
      await s.until((events) => ids(events).includes(kept));
      expect(ids(s.events)).not.toContain(gone);
      // A resume from before both pairs replays the same, in the same order.
      const again = await stream({ 'Last-Event-ID': String(low - 1) });
      await again.until((events) => ids(events).includes(kept));
      expect(ids(again.events).filter((x) => x <= kept)).toEqual(ids(s.events).filter((x) => x >= low && x <= kept));
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('streams through nginx/maildesk.conf at once, without the query token in its access log', async () => {
    if (!nginxAvailable()) return;
    const nginx = await startNginx({ upstreams: [port] });
    try {
      const s = await openSse(nginx.port, `/events/stream?access_token=${encodeURIComponent(admin)}`);
      open.push(s);
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
      const res = await postRaw(t, rawMail({ from: 'hal@example.com', subject: 'Through nginx' }));
      const id = res.body.results[0].requestId as number;
      await s.until((events) => events.some((e) => e.event === 'created' && data(e).requestId === id));
      s.close();
      await s.ended;
      await waitFor(async () => nginx.accessLog().some((l) => l.includes('/events/stream')));
      expect(nginx.accessLog().join('\n')).not.toContain(admin);
    } finally {
      await nginx.stop();
    }
  });

  async function stream(headers: Record<string, string> = {}): Promise<SseClient> {
    const c = await openSse(port, '/events/stream', { ...auth(admin), ...headers });
    open.push(c);
    expect(c.status).toBe(200);
    return c;
  }
});
