import { jest } from '@jest/globals';
import * as zlib from 'node:zlib';
import { bodyParserStats } from '../../src/common/body-parsers';
import { hmacSignature } from '../../src/common/hmac-signature';
import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { rawMail } from '../setup/mail';

const SECRET = 'hmac-secret-0123456789abcdef';
const MB = 1024 * 1024;
const now = () => Math.floor(Date.now() / 1000);

describe('webhook HMAC signature (INBOUND_HMAC_SECRET set)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ INBOUND_HMAC_SECRET: SECRET });
  });

  afterAll(async () => {
    await t?.close();
  });

  const post = (body: Buffer | string, type: string, headers: Record<string, string>) => {
    let req = t
      .http()
      .post('/inbound/mail')
      .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
      .set('Content-Type', type);
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    return req.send(body);
  };
  const signed = (body: Buffer | string, ts = now(), secret = SECRET) => ({
    'X-MailDesk-Timestamp': String(ts),
    'X-MailDesk-Signature': hmacSignature(secret, ts, body),
  });
  const count = async () => (await t.db.dataSource.query('SELECT count(*)::int AS n FROM inbound_mail'))[0].n as number;

  it('accepts a raw email signed over its exact bytes', async () => {
    const raw = rawMail({ from: 'a@example.com', subject: 'Signed raw', messageId: 'sig-1@example.com' });
    const res = await post(raw, 'message/rfc822', signed(raw));
    expect(res.status).toBe(200);
    expect(res.body.results[0].status).toBe('created');
  });

  it('accepts a JSON body signed over its raw bytes (not a re-serialisation)', async () => {
    const raw = rawMail({ from: 'b@example.com', subject: 'Signed json', messageId: 'sig-2@example.com' });
    const json = `{ "raw" :   "${raw.toString('base64')}" }`;
    const res = await post(json, 'application/json', signed(json));
    expect(res.status).toBe(200);
    expect(res.body.results[0].status).toBe('created');
  });

  it('refuses missing, wrong, tampered, stale and future signatures with 401, storing nothing', async () => {
    const before = await count();
    const raw = rawMail({ from: 'c@example.com', subject: 'Unsigned', messageId: 'sig-3@example.com' });
    const cases: Array<[string, Record<string, string>, Buffer]> = [
      ['no headers', {}, raw],
      ['signature only', { 'X-MailDesk-Signature': signed(raw)['X-MailDesk-Signature'] }, raw],
      ['wrong secret', signed(raw, now(), 'another-secret-0123456789'), raw],
      ['tampered body', signed(raw), Buffer.concat([raw, Buffer.from('x')])],
      ['six minutes old (replay)', signed(raw, now() - 360), raw],
      ['six minutes ahead', signed(raw, now() + 360), raw],
      ['not hex', { 'X-MailDesk-Timestamp': String(now()), 'X-MailDesk-Signature': 'sha256=zz' }, raw],
      ['not a number', { ...signed(raw), 'X-MailDesk-Timestamp': 'yesterday' }, raw],
    ];
    for (const [name, headers, body] of cases) {
      const res = await post(body, 'message/rfc822', headers);
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    }
    expect(await count()).toBe(before);
  });

  it('still requires the token besides the signature', async () => {
    const raw = rawMail({ from: 'd@example.com', subject: 'No token', messageId: 'sig-4@example.com' });
    const res = await t.http().post('/inbound/mail').set('Content-Type', 'message/rfc822').set(signed(raw)).send(raw);
    expect(res.status).toBe(401);
  });

  it('refuses a bad signature with 401 before the body is parsed', async () => {
    const raw = rawMail({
      from: 'g@example.com',
      subject: 'Big',
      messageId: 'sig-7@example.com',
      text: 'g'.repeat(MB),
    });
    const json = JSON.stringify({ raw: raw.toString('base64') });
    const spy = jest.spyOn(JSON, 'parse');
    const before = bodyParserStats.jsonParses;
    try {
      const res = await post(json, 'application/json', signed(json + ' '));
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: /does not match/ });
      expect(spy.mock.calls.filter(([text]) => typeof text === 'string' && text.length > MB)).toHaveLength(0);
      expect(bodyParserStats.jsonParses - before).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses missing or stale signature headers before reading, let alone inflating, the body', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(36 * MB), { level: 9 });
    const before = bodyParserStats.inflatedBytes;
    for (const headers of [{}, signed(bomb, now() - 3600)]) {
      const res = await post(bomb, 'message/rfc822', { 'Content-Encoding': 'gzip', ...headers });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    }
    expect(bodyParserStats.inflatedBytes - before).toBe(0);
  });

  it('accepts a compressed call signed over its bytes as sent, or over the decompressed ones', async () => {
    for (const [i, over] of [
      [8, 'sent'],
      [9, 'decompressed'],
    ] as const) {
      const raw = rawMail({ from: `h${i}@example.com`, subject: `Gzip ${over}`, messageId: `sig-${i}@example.com` });
      const gz = zlib.gzipSync(raw);
      const res = await post(gz, 'message/rfc822', {
        'Content-Encoding': 'gzip',
        ...signed(over === 'sent' ? gz : raw),
      });
      expect({ over, status: res.status }).toEqual({ over, status: 200 });
      expect(res.body.results[0]).toMatchObject({ status: 'created', messageId: `sig-${i}@example.com` });
    }
    const raw = rawMail({ from: 'h@example.com', subject: 'Gzip other', messageId: 'sig-10@example.com' });
    const res = await post(zlib.gzipSync(raw), 'message/rfc822', { 'Content-Encoding': 'gzip', ...signed('other') });
    expect(res.status).toBe(401);
  });

  it('bounds the inflation of a signed decompression bomb: 413, no more than the limit inflated', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(36 * MB), { level: 9 });
    const before = bodyParserStats.inflatedBytes;
    const res = await post(bomb, 'message/rfc822', { 'Content-Encoding': 'gzip', ...signed(bomb) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(bodyParserStats.inflatedBytes - before).toBeLessThanOrEqual(t.config.mail.maxInboundBytes);
  });

  it('accepts a signature four minutes old', async () => {
    const raw = rawMail({ from: 'e@example.com', subject: 'Slightly late', messageId: 'sig-5@example.com' });
    expect((await post(raw, 'message/rfc822', signed(raw, now() - 240))).status).toBe(200);
  });
});

describe('webhook without INBOUND_HMAC_SECRET', () => {
  it('needs only the token', async () => {
    const t = await createTestApp();
    try {
      const raw = rawMail({ from: 'f@example.com', subject: 'Token only', messageId: 'sig-6@example.com' });
      const res = await t
        .http()
        .post('/inbound/mail')
        .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
        .set('Content-Type', 'message/rfc822')
        .send(raw);
      expect(res.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('webhook HMAC signature: failing signatures from a token holder', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ INBOUND_HMAC_SECRET: SECRET, WEBHOOK_FAILURE_RATE_LIMIT: '3' });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('count against the address: past WEBHOOK_FAILURE_RATE_LIMIT even a good call is 429 until the window ends', async () => {
    const raw = rawMail({ from: 'g@example.com', subject: 'Guessing', messageId: 'sig-guess@example.com' });
    const send = (headers: Record<string, string>) =>
      t
        .http()
        .post('/inbound/mail')
        .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
        .set('Content-Type', 'message/rfc822')
        .set(headers)
        .send(raw);
    for (let i = 0; i < 3; i++) {
      const ts = now();
      const res = await send({
        'X-MailDesk-Timestamp': String(ts),
        'X-MailDesk-Signature': hmacSignature('wrong-secret-0123456789', ts, raw),
      });
      expect(res.status).toBe(401);
    }
    const ts = now();
    const res = await send({
      'X-MailDesk-Timestamp': String(ts),
      'X-MailDesk-Signature': hmacSignature(SECRET, ts, raw),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});
