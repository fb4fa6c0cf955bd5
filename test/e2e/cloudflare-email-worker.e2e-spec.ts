import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestApp, TestApp, TEST_INBOUND_TOKEN } from '../setup/app';
import { sql } from '../setup/mail';

/** What contrib/cloudflare-email-worker/worker.js exports. */
interface WorkerModule {
  default: { email(message: FakeEmailMessage, env: Record<string, string>): Promise<void> };
}

/** Cloudflare's ForwardableEmailMessage, as much of it as the worker uses. */
interface FakeEmailMessage {
  from: string;
  to: string;
  headers: Headers;
  raw: ReadableStream<Uint8Array>;
  rawSize: number;
  rejected: string[];
  setReject(reason: string): void;
}

/** A message as Email Routing hands it to a worker: the raw mail as a stream of small chunks. */
function emailMessage(o: { from: string; to: string; raw: Buffer }): FakeEmailMessage {
  const rejected: string[] = [];
  let at = 0;
  const raw = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= o.raw.length) return controller.close();
      controller.enqueue(new Uint8Array(o.raw.subarray(at, at + 1000)));
      at += 1000;
    },
  });
  return {
    from: o.from,
    to: o.to,
    headers: new Headers({ subject: 'ignored by the worker' }),
    raw,
    rawSize: o.raw.length,
    rejected,
    setReject: (reason: string) => void rejected.push(reason),
  };
}

/**
 * The Cloudflare Email Worker of contrib/ (issue 19), its `email` handler run in Node against the
 * desk over real HTTP, with the webhook's HMAC signature required: a mail is stored (routed by its
 * envelope recipient), a retry is a duplicate, a refused mail is rejected, and a desk that cannot
 * take it (or refuses the worker's token) makes the handler throw (a temporary failure for the sender).
 */
describe('Cloudflare Email Worker (contrib/cloudflare-email-worker/worker.js)', () => {
  const HMAC = 'cloudflare-worker-hmac-secret-0123456789';
  let t: TestApp;
  let worker: WorkerModule['default'];
  let env: Record<string, string>;
  let auth: { Authorization: string };

  const mail = (id: string, to = 'support@desk.test') =>
    Buffer.from(
      [
        'From: Carol <carol@customer.test>',
        `To: ${to}`,
        'Subject: Cannot log in',
        `Message-ID: <${id}>`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Since this morning. ' + 'x'.repeat(3000),
        '',
      ].join('\r\n'),
    );

  beforeAll(async () => {
    t = await createTestApp({ INBOUND_HMAC_SECRET: HMAC, INBOUND_MAX_BYTES: '20000' });
    const server = t.app.getHttpServer() as import('node:http').Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    env = { MAILDESK_URL: `http://127.0.0.1:${port}/`, INBOUND_TOKEN: TEST_INBOUND_TOKEN, INBOUND_HMAC_SECRET: HMAC };
    const file = pathToFileURL(path.resolve('contrib/cloudflare-email-worker/worker.js')).href;
    worker = ((await import(file)) as WorkerModule).default;
    auth = { Authorization: `Bearer ${await t.adminToken()}` };
  });

  afterAll(async () => {
    await t?.close();
  });

  it('posts the raw mail with the HMAC headers; the envelope recipient picks the mailbox; a retry is a duplicate', async () => {
    const box = await t
      .http()
      .post('/mailboxes')
      .set(auth)
      .send({ name: 'Help', address: 'help@desk.test' })
      .expect(201);
    const m = emailMessage({ from: 'carol@customer.test', to: 'help@desk.test', raw: mail('cf-1@customer.test') });
    await expect(worker.email(m, env)).resolves.toBeUndefined();
    expect(m.rejected).toEqual([]);
    const rows = await sql<{ request_id: number; status: string }>(
      t,
      'SELECT request_id, status FROM inbound_mail WHERE message_id = $1',
      ['cf-1@customer.test'],
    );
    expect(rows).toEqual([{ request_id: expect.any(Number), status: 'created' }]);
    const request = await t.http().get(`/requests/${rows[0].request_id}`).set(auth).expect(200);
    expect(request.body.mailbox).toEqual({ id: box.body.id, address: 'help@desk.test' });

    const again = emailMessage({ from: 'carol@customer.test', to: 'help@desk.test', raw: mail('cf-1@customer.test') });
    await expect(worker.email(again, env)).resolves.toBeUndefined();
    expect(again.rejected).toEqual([]);
    const count = await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM messages WHERE message_id = $1', [
      'cf-1@customer.test',
    ]);
    expect(Number(count[0].n)).toBe(1);
  });

  it('rejects a mail over MAX_BYTES without posting it', async () => {
    const m = emailMessage({ from: 'carol@customer.test', to: 'support@desk.test', raw: mail('cf-big@customer.test') });
    await worker.email(m, { ...env, MAX_BYTES: '1000' });
    expect(m.rejected).toEqual(['message larger than 1000 bytes']);
    expect(await sql(t, 'SELECT 1 FROM inbound_mail WHERE message_id = $1', ['cf-big@customer.test'])).toEqual([]);
  });

  it('rejects a mail the desk refuses for good (413 over INBOUND_MAX_BYTES), with its reason', async () => {
    const big = Buffer.concat([mail('cf-413@customer.test'), Buffer.from('y'.repeat(30_000))]);
    const m = emailMessage({ from: 'carol@customer.test', to: 'support@desk.test', raw: big });
    await worker.email(m, env);
    expect(m.rejected).toEqual([expect.stringMatching(/^MailDesk refused the message \(413\)/)]);
  });

  it('fails temporarily (throws) on a wrong token, a wrong HMAC secret or an unreachable desk, never rejecting', async () => {
    for (const broken of [
      { ...env, INBOUND_TOKEN: 'wrong-token-0123456789abcdef' },
      { ...env, INBOUND_HMAC_SECRET: 'another-secret-0123456789abcdef' },
      { ...env, MAILDESK_URL: 'http://127.0.0.1:1/' },
    ]) {
      const m = emailMessage({
        from: 'carol@customer.test',
        to: 'support@desk.test',
        raw: mail('cf-retry@customer.test'),
      });
      await expect(worker.email(m, broken)).rejects.toThrow(/MailDesk (answered 401|unreachable)/);
      expect(m.rejected).toEqual([]);
    }
    expect(await sql(t, 'SELECT 1 FROM inbound_mail WHERE message_id = $1', ['cf-retry@customer.test'])).toEqual([]);
  });
});
