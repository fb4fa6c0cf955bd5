import { jest } from '@jest/globals';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { webhookInFlight } from '../../src/app';
import { bodyParserStats } from '../../src/common/body-parsers';
import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';

const MB = 1024 * 1024;
/** 36 MB of zeros, gzipped: about 36 KB on the wire. */
const BOMB = zlib.gzipSync(Buffer.alloc(36 * MB), { level: 9 });
const WRONG = 'wrong-token-0123456789';

type Res = { status: number; headers: Record<string, string>; body: Record<string, unknown> };

function expectShape(res: Res, statusCode: number): void {
  expect(res.status).toBe(statusCode);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ statusCode, error: expect.any(String), message: expect.any(String) });
}

/** Counts JSON.parse calls on texts over 1 MB (no answer or header the tests read is that long). */
function watchLargeJsonParses(): { calls: () => number; restore: () => void } {
  const spy = jest.spyOn(JSON, 'parse');
  return {
    calls: () => spy.mock.calls.filter(([text]) => typeof text === 'string' && text.length > MB).length,
    restore: () => spy.mockRestore(),
  };
}

const bomb = (t: TestApp, token: string, type = 'message/rfc822') =>
  t
    .http()
    .post('/inbound/mail')
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', type)
    .set('Content-Encoding', 'gzip')
    .send(BOMB);

describe('webhook: credentials before bodies (default settings)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers sixteen anonymous gzip bombs 401 without inflating a byte', async () => {
    const before = bodyParserStats.inflatedBytes;
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => bomb(t, i % 2 ? WRONG : '')));
    for (const res of answers) {
      expectShape(res, 401);
      expect(res.body.message).toMatch(/inbound token/);
    }
    expect(bodyParserStats.inflatedBytes - before).toBe(0);
    // Before, each was inflated to the 25 MB limit and answered 413; now nothing was decompressed.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * MB);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(sql(t, 'SELECT id FROM inbound_mail')).resolves.toHaveLength(0);
  });

  it('answers a JSON body just under the limit with a wrong token 401 without parsing it', async () => {
    const limit = Math.ceil(t.config.mail.maxInboundBytes * 1.4) + 64 * 1024;
    const json = `{"raw":"${'QUFB'.repeat(Math.floor((limit - 64) / 4))}"}`;
    expect(json.length).toBeLessThan(limit);
    expect(json.length).toBeGreaterThan(limit - 1024);
    const parses = watchLargeJsonParses();
    const before = bodyParserStats.jsonParses;
    try {
      const res = await t
        .http()
        .post('/inbound/mail')
        .set('Authorization', `Bearer ${WRONG}`)
        .set('Content-Type', 'application/json')
        .send(json);
      expectShape(res, 401);
      expect(parses.calls()).toBe(0);
      expect(bodyParserStats.jsonParses - before).toBe(0);
    } finally {
      parses.restore();
    }
  });

  it('answers an authenticated gzip bomb 413, inflating no more than the limit', async () => {
    const before = bodyParserStats.inflatedBytes;
    const res = await bomb(t, TEST_INBOUND_TOKEN);
    expectShape(res, 413);
    const inflated = bodyParserStats.inflatedBytes - before;
    expect(inflated).toBeGreaterThan(0);
    expect(inflated).toBeLessThanOrEqual(t.config.mail.maxInboundBytes + 64 * 1024);
  });

  it('keeps the parsers: gzip mail with the token is stored, other routes still 1 MB JSON', async () => {
    const raw = rawMail({ from: 'gz@example.com', subject: 'Gzipped', messageId: 'gz-1@example.com' });
    const res = await t
      .http()
      .post('/inbound/mail')
      .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
      .set('Content-Type', 'message/rfc822')
      .set('Content-Encoding', 'gzip')
      .send(zlib.gzipSync(raw));
    expect(res.status).toBe(200);
    expect(res.body.results[0].status).toBe('created');
    const notJson = await t
      .http()
      .post('/inbound/mail')
      .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
      .set('Content-Type', 'application/json')
      .send('{"raw": nope}');
    expectShape(notJson, 400);
    const encoding = await t
      .http()
      .post('/inbound/mail')
      .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
      .set('Content-Type', 'message/rfc822')
      .set('Content-Encoding', 'compress')
      .send(raw);
    expectShape(encoding, 415);
  });

  it('takes a burst of 1,000 mails from one address with the token, none throttled', async () => {
    const statuses: Record<number, number> = {};
    let next = 0;
    const worker = async () => {
      while (next < 1000) {
        const i = next++;
        const res = await postRaw(
          t,
          rawMail({ from: `burst${i % 50}@example.com`, subject: `Burst ${i}`, messageId: `burst-${i}@example.com` }),
        );
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(statuses).toEqual({ 200: 1000 });
    const rows = await sql<{ n: number }>(
      t,
      "SELECT count(*)::int AS n FROM inbound_mail WHERE message_id LIKE 'burst-%@example.com'",
    );
    expect(rows[0].n).toBe(1000);
  }, 240_000);
});

describe('webhook: failing callers are rate-limited before their bodies are read', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_FAILURE_RATE_LIMIT: '5' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 with Retry-After after WEBHOOK_FAILURE_RATE_LIMIT calls without a valid token', async () => {
    for (let i = 0; i < 5; i++) expectShape(await bomb(t, WRONG), 401);
    const before = bodyParserStats.inflatedBytes;
    for (const path of ['/inbound/mail', '/requests/webhook/email/']) {
      const res = await t
        .http()
        .post(path)
        .set('Authorization', `Bearer ${WRONG}`)
        .set('Content-Encoding', 'gzip')
        .set('Content-Type', 'application/json')
        .send(BOMB);
      expectShape(res, 429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    expect(bodyParserStats.inflatedBytes - before).toBe(0);
  });

  it('still takes mail with the token from that address, however many of its bodies are refused', async () => {
    const ok = await postRaw(t, rawMail({ from: 'ok@example.com', subject: 'Fine', messageId: 'fail-ok@example.com' }));
    expect(ok.status).toBe(200);
    // Bodies the desk refuses (400 here; 413 and 415 alike) are the sender's data, not a guess at
    // a secret: they never throttle an authenticated sender (its volume is bounded by the 503s).
    for (let i = 0; i < 8; i++) {
      const res = await t
        .http()
        .post('/inbound/mail')
        .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
        .send({ nothing: 1 });
      expectShape(res, 400);
    }
    const res = await postRaw(
      t,
      rawMail({ from: 'ok@example.com', subject: 'Later', messageId: 'fail-2@example.com' }),
    );
    expect(res.status).toBe(200);
  });
});

describe('webhook: backpressure when ingest is saturated', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ INBOUND_MAX_IN_FLIGHT: '2', INBOUND_MAX_IN_FLIGHT_BYTES: String(MB) });
    const server = t.app.getHttpServer() as http.Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A webhook call whose body is sent in two parts: all but its last byte now, the rest on finish(). */
  function slowPost(raw: Buffer): { finish(): Promise<{ status: number; body: Record<string, unknown> }> } {
    let req!: http.ClientRequest;
    const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/inbound/mail',
          headers: {
            Authorization: `Bearer ${TEST_INBOUND_TOKEN}`,
            'Content-Type': 'message/rfc822',
            'Content-Length': raw.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
          );
        },
      );
      req.on('error', reject);
    });
    req.write(raw.subarray(0, raw.length - 1));
    return {
      finish: () => {
        req.end(raw.subarray(raw.length - 1));
        return answer;
      },
    };
  }

  const count = async (messageId: string) =>
    (await sql<{ n: number }>(t, 'SELECT count(*)::int AS n FROM inbound_mail WHERE message_id = $1', [messageId]))[0]
      .n;

  it('answers 503 with Retry-After past INBOUND_MAX_IN_FLIGHT, and a retried mail is stored once', async () => {
    const limiter = webhookInFlight(t.app)!;
    const held = [1, 2].map((i) =>
      slowPost(rawMail({ from: 'slow@example.com', subject: `Slow ${i}`, messageId: `slow-${i}@example.com` })),
    );
    await waitFor(async () => limiter.usage.calls === 2);
    const third = rawMail({ from: 'third@example.com', subject: 'Third', messageId: 'third@example.com' });
    const refused = await postRaw(t, third);
    expectShape(refused, 503);
    expect(refused.headers['retry-after']).toBe('1');
    // Anonymous callers are still answered 401, not queued.
    expectShape(await postRaw(t, third, WRONG), 401);
    expect(await count('third@example.com')).toBe(0);

    const answers = await Promise.all(held.map((h) => h.finish()));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await waitFor(async () => limiter.usage.calls === 0);
    const retried = await postRaw(t, third);
    expect(retried.status).toBe(200);
    expect(retried.body.results[0].status).toBe('created');
    for (const id of ['slow-1@example.com', 'slow-2@example.com', 'third@example.com']) expect(await count(id)).toBe(1);
    expect(limiter.usage).toEqual({ calls: 0, bytes: 0 });
  });

  it('answers 503 past INBOUND_MAX_IN_FLIGHT_BYTES, and frees the bytes of a call that went away', async () => {
    const limiter = webhookInFlight(t.app)!;
    const big = rawMail({
      from: 'big@example.com',
      subject: 'Big',
      messageId: 'big-held@example.com',
      text: 'b'.repeat(700 * 1024),
    });
    const held = slowPost(big);
    await waitFor(async () => limiter.usage.calls === 1);
    const medium = rawMail({
      from: 'm@example.com',
      subject: 'Medium',
      messageId: 'medium@example.com',
      text: 'm'.repeat(400 * 1024),
    });
    expectShape(await postRaw(t, medium), 503);
    const small = await postRaw(
      t,
      rawMail({ from: 's@example.com', subject: 'Small', messageId: 'small@example.com' }),
    );
    expect(small.status).toBe(200);
    expect((await held.finish()).status).toBe(200);
    await waitFor(async () => limiter.usage.calls === 0);
    expect((await postRaw(t, medium)).status).toBe(200);

    // A caller that hangs up mid-upload gives its slot back.
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/inbound/mail',
      headers: {
        Authorization: `Bearer ${TEST_INBOUND_TOKEN}`,
        'Content-Type': 'message/rfc822',
        'Content-Length': 5000,
      },
    });
    req.on('error', () => undefined);
    req.write('From: x@example.com\r\n');
    await waitFor(async () => limiter.usage.calls === 1);
    req.destroy();
    await waitFor(async () => limiter.usage.calls === 0);
    expect(limiter.usage).toEqual({ calls: 0, bytes: 0 });
  });
});
