import { createHash } from 'node:crypto';
import { BlobsService } from '../../src/blobs/blobs.service';
import { InboundMailService } from '../../src/inbound-mail/inbound-mail.service';
import { MAX_ATTACHMENTS, MAX_HEADER_FIELDS, MAX_SUBJECT_TOKENS } from '../../src/inbound-mail/parser/limits';
import { createTestApp, TestApp } from '../setup/app';
import { postRaw, rawMail, sql } from '../setup/mail';
import { MAX_LOOP_GAP_MS, withTicks } from '../setup/ticks';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The parser's caps and deadline through the real ingest on PostgreSQL (the parse pool runs the
 * built worker: `npm run build` first): each mail just past a cap ends as its outcome says, the
 * event loop keeps serving while a hostile mail parses, a mail past its deadline is quarantined.
 */

describe('inbound mail past the parser caps', () => {
  let t: TestApp;
  let inbound: InboundMailService;
  const RUN = Date.now().toString(36);

  beforeAll(async () => {
    t = await createTestApp();
    inbound = t.app.get(InboundMailService);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('quarantines a mail with one header field too many, raw, with reason "too many headers"', async () => {
    const headers: Record<string, string> = {};
    // rawMail writes From, To, Subject, Date, Message-ID, MIME-Version and Content-Type.
    for (let i = 0; i < MAX_HEADER_FIELDS + 1 - 7; i++) headers[`X-Hop-${i}`] = `relay ${i}`;
    const raw = rawMail({ from: 'h@customer.test', subject: 'headers', messageId: `h.${RUN}@c.test`, headers });
    const res = await postRaw(t, raw);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      {
        status: 'quarantined',
        requestId: null,
        messageId: null,
        reason: `too many headers: ${MAX_HEADER_FIELDS + 1} fields in the top header block (limit ${MAX_HEADER_FIELDS})`,
      },
    ]);
    const rows = await sql<{ status: string; raw: Buffer | null; raw_sha256: string }>(
      t,
      `SELECT status, raw, raw_sha256 FROM inbound_mail WHERE reason LIKE 'too many headers%'`,
    );
    expect(rows).toHaveLength(1);
    // Raw, in the blob store (docs/storage.md), not in PostgreSQL.
    expect(rows[0].raw).toBeNull();
    await expect(t.app.get(BlobsService).read(rows[0].raw_sha256)).resolves.toEqual(raw);
  });

  it('quarantines a mail with one attachment too many', async () => {
    let s = `From: a@customer.test\r\nSubject: files\r\nMessage-ID: <a.${RUN}@c.test>\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n`;
    for (let i = 0; i <= MAX_ATTACHMENTS; i++) {
      s += `--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=f${i}.bin\r\n\r\nAA\r\n`;
    }
    const result = await inbound.ingest(Buffer.from(s + '--x--\r\n'), 'webhook');
    expect(result).toMatchObject({
      status: 'quarantined',
      reason: `too many attachments: ${MAX_ATTACHMENTS + 1} (limit ${MAX_ATTACHMENTS})`,
    });
  });

  it(`looks at the first ${MAX_SUBJECT_TOKENS} request tokens of a subject only`, async () => {
    const from = `tok.${RUN}@customer.test`;
    const first = await inbound.ingest(rawMail({ from, subject: 'first', messageId: `t1.${RUN}@c.test` }), 'webhook');
    expect(first.status).toBe('created');
    await sql(t, `UPDATE requests SET status = 'closed', closed_at = now() WHERE id = $1`, [first.requestId]);
    const unknown = Array.from({ length: MAX_SUBJECT_TOKENS }, (_, i) => `[#${900_000 + i}]`).join('');
    // Among the first ten tokens, the closed request is found: the new request follows it up.
    const within = await inbound.ingest(
      rawMail({ from, subject: `${unknown.slice(0, -9)}[#${first.requestId}]`, messageId: `t2.${RUN}@c.test` }),
      'webhook',
    );
    expect(within.status).toBe('created');
    const [followUp] = await sql<{ previous_request_id: number | null }>(
      t,
      `SELECT previous_request_id FROM requests WHERE id = $1`,
      [within.requestId],
    );
    expect(followUp.previous_request_id).toBe(first.requestId);
    await sql(t, `UPDATE requests SET status = 'closed', closed_at = now() WHERE id = $1`, [within.requestId]);
    // As the eleventh token, it is not looked up.
    const past = await inbound.ingest(
      rawMail({ from, subject: `${unknown}[#${first.requestId}]`, messageId: `t3.${RUN}@c.test` }),
      'webhook',
    );
    expect(past.status).toBe('created');
    const [fresh] = await sql<{ previous_request_id: number | null }>(
      t,
      `SELECT previous_request_id FROM requests WHERE id = $1`,
      [past.requestId],
    );
    expect(fresh.previous_request_id).toBeNull();
  });

  it('ingests a subject of 6,000 words in 6,000 charset labels in seconds, the event loop ticking', async () => {
    const words = Array.from({ length: 6000 }, (_, i) => `=?iso-8859-1:${String(i).padStart(4, '0')}?Q?=E9=E9?=`);
    const raw = rawMail({ from: `w.${RUN}@customer.test`, subject: words.join(' '), messageId: `w.${RUN}@c.test` });
    const started = Date.now();
    const { result: res, maxGap } = await withTicks(() => postRaw(t, raw));
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: 'created', messageId: `w.${RUN}@c.test` });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(maxGap).toBeLessThan(MAX_LOOP_GAP_MS);
  }, 20_000);

  it('stores the raw mail the webhook handed to its parse thread, byte for byte', async () => {
    // A mail of 1 MB: the webhook's body goes to the thread uncopied and comes back for the blob store.
    const large = rawMail({
      from: `l.${RUN}@customer.test`,
      subject: 'large',
      messageId: `l.${RUN}@c.test`,
      text: ('word '.repeat(15) + '\r\n').repeat(14_000),
    });
    const res = await postRaw(t, large);
    expect(res.body.results).toMatchObject([{ status: 'created', messageId: `l.${RUN}@c.test` }]);
    const [row] = await sql<{ status: string; size: number }>(
      t,
      `SELECT status, size FROM inbound_mail WHERE raw_sha256 = '${sha(large)}'`,
    );
    expect(row).toEqual({ status: 'created', size: large.length });
    expect((await t.app.get(BlobsService).read(sha(large))).equals(large)).toBe(true);
  }, 60_000);
});

describe('inbound mail past its parse deadline', () => {
  let t: TestApp;
  let inbound: InboundMailService;
  const RUN = Date.now().toString(36);

  beforeAll(async () => {
    t = await createTestApp({ MAIL_PARSE_TIMEOUT_MS: '300', MAIL_PARSE_WORKERS: '1' });
    inbound = t.app.get(InboundMailService);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is quarantined with reason "parse timeout", and the pool parses the next mail', async () => {
    const warm = await inbound.ingest(
      rawMail({ from: `d.${RUN}@customer.test`, subject: 'warm', messageId: `d0.${RUN}@c.test` }),
      'webhook',
    );
    expect(warm.status).toBe('created');
    // 20 MB of quoted-printable text: 1-6 s of mailparser's work here, far past 300 ms.
    const slow = Buffer.from(
      `From: d.${RUN}@customer.test\r\nSubject: slow\r\nMessage-ID: <d1.${RUN}@c.test>\r\n` +
        'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
        ('=C3=A9'.repeat(12) + '=\r\n').repeat(280_000),
      'latin1',
    );
    const started = Date.now();
    const { result, maxGap } = await withTicks(() => inbound.ingest(slow, 'webhook'));
    expect(result).toMatchObject({ status: 'quarantined', reason: 'parse timeout: parsing took longer than 300 ms' });
    // The reason proves the deadline fired (the thread was stopped, not waited for); the bound only
    // catches a hang, generous because the quarantine then stores 20 MB on a loaded machine.
    expect(Date.now() - started).toBeLessThan(300 + 10_000);
    expect(maxGap).toBeLessThan(MAX_LOOP_GAP_MS);
    const [row] = await sql<{ size: number; reason: string }>(
      t,
      `SELECT size, reason FROM inbound_mail WHERE status = 'quarantined'`,
    );
    expect(row).toEqual({ size: slow.length, reason: 'parse timeout: parsing took longer than 300 ms' });
    const next = await inbound.ingest(
      rawMail({ from: `d.${RUN}@customer.test`, subject: 'next', messageId: `d2.${RUN}@c.test` }),
      'webhook',
    );
    expect(next).toMatchObject({ status: 'appended', requestId: warm.requestId });
  }, 30_000);

  it('keeps the raw mail the webhook handed to its parse thread past the deadline', async () => {
    const slow = Buffer.from(
      `From: d.${RUN}@customer.test\r\nSubject: slow\r\nMessage-ID: <d3.${RUN}@c.test>\r\n` +
        'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
        ('=C3=A9'.repeat(12) + '=\r\n').repeat(280_000),
      'latin1',
    );
    const res = await postRaw(t, slow);
    expect(res.status).toBe(200);
    expect(res.body.results).toMatchObject([
      { status: 'quarantined', reason: 'parse timeout: parsing took longer than 300 ms' },
    ]);
    // Stored under the hash of the very bytes sent (the thread gave them back before its deadline ran).
    const [row] = await sql<{ status: string; size: number }>(
      t,
      `SELECT status, size FROM inbound_mail WHERE raw_sha256 = '${sha(slow)}'`,
    );
    expect(row).toEqual({ status: 'quarantined', size: slow.length });
    // Buffer.equals: jest's deep equality walks 20 MB byte by byte for minutes.
    expect((await t.app.get(BlobsService).read(sha(slow))).equals(slow)).toBe(true);
  }, 60_000);
});
