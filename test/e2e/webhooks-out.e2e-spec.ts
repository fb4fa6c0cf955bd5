import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { WebhookDispatcher } from '../../src/webhooks/webhook.dispatcher';

/** One call the receiver got. */
interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A local HTTP receiver on 127.0.0.1: answers each path's first `failures[path]` calls with 503, then 204. */
class Receiver {
  readonly calls: Received[] = [];
  readonly failures: Record<string, number> = {};
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const failing = (this.failures[path] ?? 0) > 0;
        if (failing) this.failures[path]--;
        const answered = failing ? 503 : 204;
        this.calls.push({ path, headers: req.headers, body, answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  on(path: string): Received[] {
    return this.calls.filter((c) => c.path === path);
  }
}

const verify = (secret: string, c: Received) =>
  c.headers['x-maildesk-signature'] ===
  `sha256=${crypto
    .createHmac('sha256', secret)
    .update(`${String(c.headers['x-maildesk-timestamp'])}.${c.body}`)
    .digest('hex')}`;

describe('outgoing webhooks', () => {
  let t: TestApp;
  let rx: Receiver;
  let admin: string;
  const auth = () => ({ Authorization: `Bearer ${admin}` });

  beforeAll(async () => {
    rx = new Receiver();
    await rx.start();
    t = await createTestApp({
      // The receiver listens on 127.0.0.1.
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_DELIVERY_RETRY_BASE_MS: '50',
      WEBHOOK_DELIVERY_MAX_ATTEMPTS: '3',
      LOGIN_RATE_LIMIT: '1000',
    });
    admin = await t.adminToken();
  });

  afterAll(async () => {
    await t?.close();
    await rx?.stop();
  });

  it('registers a webhook, showing its secret once, and validates url and events', async () => {
    const res = await t
      .http()
      .post('/webhooks')
      .set(auth())
      .send({ url: `${rx.url}/reg`, events: ['request.closed'], description: 'Slack' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      url: `${rx.url}/reg`,
      events: ['request.closed'],
      description: 'Slack',
      lastDelivery: null,
    });
    expect(res.body.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const list = await t.http().get('/webhooks').set(auth());
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].secret).toBeUndefined();
    expect(JSON.stringify(list.body)).not.toContain(res.body.secret);
    for (const body of [
      { url: 'ftp://x.example/hook', events: ['request.closed'] },
      { url: 'not a url', events: ['request.closed'] },
      { url: `${rx.url}/x`, events: ['request.deleted'] },
      { url: `${rx.url}/x`, events: [] },
    ]) {
      expect({ body, status: (await t.http().post('/webhooks').set(auth()).send(body)).status }).toEqual({
        body,
        status: 400,
      });
    }
    expect((await t.http().delete(`/webhooks/${res.body.id}`).set(auth())).status).toBe(204);
    expect((await t.http().delete(`/webhooks/${res.body.id}`).set(auth())).status).toBe(404);
    expect((await t.http().get(`/webhooks/${res.body.id}/deliveries`).set(auth())).status).toBe(404);
  });

  it('posts signed events for a request’s life, retrying a failing receiver until it succeeds', async () => {
    const hook = await t
      .http()
      .post('/webhooks')
      .set(auth())
      .send({
        url: `${rx.url}/chat`,
        events: ['request.created', 'message.received', 'request.assigned', 'message.sent', 'request.closed'],
      });
    const secret = hook.body.secret as string;
    rx.failures['/chat'] = 2;

    const ingest = await postRaw(
      t,
      rawMail({
        from: 'Dana <dana@customer.test>',
        subject: 'Laptop overheats',
        text: 'It gets very hot.',
        messageId: 'wh-1@customer.test',
      }),
    );
    const requestId = ingest.body.results[0].requestId as number;
    await waitFor(async () => rx.on('/chat').filter((c) => c.answered === 204).length >= 2, 15000);
    await t.http().post(`/requests/${requestId}/assign`).set(auth()).send({});
    await t.http().post(`/requests/${requestId}/messages`).set(auth()).send({ text: 'Please clean the fan.' });
    await t.http().post(`/requests/${requestId}/close`).set(auth());
    const ok = await waitFor(async () => {
      const delivered = rx.on('/chat').filter((c) => c.answered === 204);
      return delivered.length >= 5 && delivered;
    }, 15000);

    // Two 503s, then every delivery arrives.
    expect(rx.on('/chat').filter((c) => c.answered === 503)).toHaveLength(2);
    const events = ok.map(
      (c) => JSON.parse(c.body) as { event: string; occurredAt: string; data: Record<string, unknown> },
    );
    expect(events.map((e) => e.event).sort()).toEqual([
      'message.received',
      'message.sent',
      'request.assigned',
      'request.closed',
      'request.created',
    ]);
    for (const c of ok) {
      expect(verify(secret, c)).toBe(true);
      expect(c.headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(c.headers['x-maildesk-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    const byEvent = Object.fromEntries(events.map((e) => [e.event, e]));
    expect(byEvent['request.created'].data).toMatchObject({
      requestId,
      subject: 'Laptop overheats',
      customer: { email: 'dana@customer.test', name: 'Dana' },
    });
    expect(byEvent['message.received'].data).toMatchObject({
      requestId,
      subject: 'Laptop overheats',
      text: expect.stringContaining('It gets very hot.'),
    });
    expect(byEvent['request.assigned'].data).toMatchObject({ requestId, operatorId: 1 });
    expect(byEvent['message.sent'].data).toMatchObject({
      requestId,
      to: 'dana@customer.test',
      text: 'Please clean the fan.',
    });
    expect(byEvent['request.closed'].data).toMatchObject({ requestId, closedBy: 1 });
    expect(new Date(byEvent['request.closed'].occurredAt).getTime()).not.toBeNaN();
    // A tampered body does not verify.
    expect(verify(secret, { ...ok[0], body: ok[0].body.replace('}', ',"x":1}') })).toBe(false);

    const deliveries = await t.http().get(`/webhooks/${hook.body.id}/deliveries`).set(auth());
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.total).toBe(5);
    expect(deliveries.body.items.every((d: { status: string }) => d.status === 'delivered')).toBe(true);
    const retried = deliveries.body.items.filter((d: { attempts: number }) => d.attempts > 1);
    expect(
      retried.map((d: { attempts: number }) => d.attempts).reduce((a: number, b: number) => a + b, 0),
    ).toBeGreaterThanOrEqual(4);
    const list = await t.http().get('/webhooks').set(auth());
    expect(list.body.items.find((w: { id: number }) => w.id === hook.body.id).lastDelivery).toMatchObject({
      status: 'delivered',
      statusCode: 204,
    });
    await t.http().delete(`/webhooks/${hook.body.id}`).set(auth());
  });

  it('queues nothing for a change that fails, and marks a delivery failed after the last attempt', async () => {
    const hook = await t
      .http()
      .post('/webhooks')
      .set(auth())
      .send({ url: `${rx.url}/down`, events: ['request.assigned', 'request.created'] });
    rx.failures['/down'] = 100;
    const ingest = await postRaw(
      t,
      rawMail({ from: 'eve@customer.test', subject: 'Mouse', messageId: 'wh-2@customer.test' }),
    );
    const requestId = ingest.body.results[0].requestId as number;
    await t.http().post(`/requests/${requestId}/assign`).set(auth()).send({});
    // Taking it again conflicts: the transaction rolls back, and so does its event.
    expect((await t.http().post(`/requests/${requestId}/assign`).set(auth()).send({})).status).toBe(409);
    const failed = await waitFor(async () => {
      const rows = await sql<{ status: string; attempts: number; last_status_code: number; last_error: string }>(
        t,
        'SELECT status, attempts, last_status_code, last_error FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id',
        [hook.body.id],
      );
      return rows.length === 2 && rows.every((r) => r.status === 'failed') && rows;
    }, 15000);
    expect(failed).toEqual([
      { status: 'failed', attempts: 3, last_status_code: 503, last_error: 'HTTP 503' },
      { status: 'failed', attempts: 3, last_status_code: 503, last_error: 'HTTP 503' },
    ]);
    const page = await t.http().get(`/webhooks/${hook.body.id}/deliveries?limit=1`).set(auth());
    expect(page.body).toMatchObject({
      total: 2,
      limit: 1,
      items: [{ event: 'request.assigned', status: 'failed', lastError: 'HTTP 503' }],
    });
  });
});

/** Queues one delivery to `url` (a row as if registered earlier) and waits for its outcome. */
async function deliverOnce(
  t: TestApp,
  url: string,
): Promise<{ status: string; last_error: string; last_status_code: number | null }> {
  const [hook] = await sql<{ id: number }>(
    t,
    `INSERT INTO webhooks (url, events, secret) VALUES ($1, '{request.created}', 'whsec_test') RETURNING id`,
    [url],
  );
  await sql(t, `INSERT INTO webhook_deliveries (webhook_id, event, payload) VALUES ($1, 'request.created', '{}')`, [
    hook.id,
  ]);
  t.app.get(WebhookDispatcher).kick();
  return waitFor(async () => {
    const [row] = await sql<{ status: string; last_error: string; last_status_code: number | null }>(
      t,
      `SELECT status, last_error, last_status_code FROM webhook_deliveries WHERE webhook_id = $1`,
      [hook.id],
    );
    return row.status !== 'pending' && row;
  }, 15000);
}

describe('outgoing webhooks: private targets refused (WEBHOOK_ALLOW_PRIVATE_TARGETS unset)', () => {
  let t: TestApp;
  let rx: Receiver;
  let admin: string;

  beforeAll(async () => {
    rx = new Receiver();
    await rx.start();
    t = await createTestApp({ WEBHOOK_DELIVERY_MAX_ATTEMPTS: '1', LOGIN_RATE_LIMIT: '1000' });
    admin = await t.adminToken();
  });

  afterAll(async () => {
    await t?.close();
    await rx?.stop();
  });

  it('refuses a loopback, private, link-local or metadata address at registration (400)', async () => {
    const port = new URL(rx.url).port;
    for (const url of [
      `${rx.url}/hook`,
      `http://localhost:${port}/hook`,
      `http://[::1]:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.5/hook',
      'http://192.168.1.10/hook',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://[fd00::1]/hook',
      'http://[fe80::1]/hook',
    ]) {
      const res = await t
        .http()
        .post('/webhooks')
        .set('Authorization', `Bearer ${admin}`)
        .send({ url, events: ['request.created'] });
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.body.message).toMatch(/private/);
    }
    // A host name is accepted: it is checked when connecting.
    const named = await t
      .http()
      .post('/webhooks')
      .set('Authorization', `Bearer ${admin}`)
      .send({ url: 'https://chat.example.com/hooks/maildesk', events: ['request.closed'] });
    expect(named.status).toBe(201);
  });

  it('refuses at connection time a host name that resolves to a loopback address: nothing reaches it', async () => {
    const port = new URL(rx.url).port;
    const before = rx.calls.length;
    const outcome = await deliverOnce(t, `http://localhost:${port}/rebound`);
    expect(outcome).toEqual({ status: 'failed', last_error: 'private address', last_status_code: null });
    expect(rx.calls.length).toBe(before);
  });
});

describe('outgoing webhooks: a failed delivery reports a class of error, not its cause', () => {
  let t: TestApp;
  let silent: net.Server;
  let silentPort: number;
  let plain: http.Server;
  let plainPort: number;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as AddressInfo).port;
    // Plain HTTP, answering 500: an https:// URL to it fails the TLS handshake.
    plain = http.createServer((_req, res) => res.writeHead(500).end('internal detail 10.1.2.3'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainPort = (plain.address() as AddressInfo).port;
    t = await createTestApp({
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_DELIVERY_MAX_ATTEMPTS: '1',
      WEBHOOK_DELIVERY_TIMEOUT_MS: '300',
    });
  });

  afterAll(async () => {
    await t?.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent?.close(r));
    await new Promise((r) => plain?.close(r));
  });

  it('timeout, refused, tls, dns and HTTP <status>', async () => {
    const closed = await new Promise<number>((r) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const cases: Array<[string, string]> = [
      [`http://127.0.0.1:${silentPort}/`, 'timeout'],
      [`http://127.0.0.1:${closed}/`, 'refused'],
      [`https://127.0.0.1:${plainPort}/`, 'tls'],
      ['http://no-such-host.invalid/', 'dns'],
      [`http://127.0.0.1:${plainPort}/`, 'HTTP 500'],
    ];
    for (const [url, error] of cases) {
      const outcome = await deliverOnce(t, url);
      expect({ url, status: outcome.status, error: outcome.last_error }).toEqual({ url, status: 'failed', error });
    }
  });
});
