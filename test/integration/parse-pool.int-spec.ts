import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { types } from 'node:util';
import { sanitizeMailHtml } from '../../src/common/safe-html';
import { loadConfig } from '../../src/config/config';
import { MailParseError, parseMail } from '../../src/inbound-mail/parser/parse-mail';
import { HAND_OVER_FROM_BYTES, ParsePool, ParseThreadLostError } from '../../src/inbound-mail/parser/parse-pool';
import { COLLECT_AFTER_BYTES } from '../../src/inbound-mail/parser/parse-outcome';
import { MAX_LOOP_GAP_MS, withTicks } from '../setup/ticks';

/**
 * ParsePool on its built worker (dist/, so `npm run build` first): what crosses the thread boundary,
 * the event loop kept free while a hostile mail parses, and the deadline terminating its thread.
 */
const mail = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

/** A mail whose one attachment, f.bin, is `file`, base64-encoded. */
const withFile = (messageId: string, file: Buffer): Buffer =>
  mail([
    'From: a@example.com',
    `Message-ID: <${messageId}>`,
    'Content-Type: application/octet-stream; name="f.bin"',
    'Content-Disposition: attachment; filename="f.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    file.toString('base64'),
    '',
  ]);

/** A 20 MB quoted-printable body: 1-6 s of mailparser's work on a 2-core machine. */
function slowMail(): Buffer {
  return Buffer.from(
    'From: slow@example.com\r\nSubject: slow\r\nMessage-ID: <slow@example.com>\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
      ('=C3=A9'.repeat(12) + '=\r\n').repeat(280_000),
    'latin1',
  );
}

describe('ParsePool', () => {
  let pool: ParsePool;

  beforeAll(() => {
    pool = new ParsePool(loadConfig({ MAIL_PARSE_WORKERS: '1' }));
  });
  afterAll(async () => {
    await pool?.onApplicationShutdown();
  });

  it('hands back what parseMail makes: Buffers, Dates, the headers Map, every field', async () => {
    const pdf = Buffer.from('%PDF-1.4 a small file');
    const raw = mail([
      'From: =?utf-8?Q?J=C3=BCrgen?= <Juergen@Example.COM>',
      'To: support@desk.test, b@example.com',
      'Cc: c@example.com',
      'Reply-To: r@example.com',
      'Subject: =?iso-8859-1?Q?caf=E9?=',
      'Date: Tue, 14 Jan 2025 09:12:00 +0100',
      'Message-ID: <m1@example.com>',
      'In-Reply-To: <p@example.com>',
      'References: <a@example.com> <p@example.com>',
      'Content-Type: multipart/mixed; boundary="x"',
      '',
      '--x',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Hello <img src="cid:logo@x"></p>',
      '--x',
      'Content-Type: image/png',
      'Content-ID: <logo@x>',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('not really a png').toString('base64'),
      '--x',
      'Content-Type: application/pdf; name="a.pdf"',
      'Content-Disposition: attachment; filename="a.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      pdf.toString('base64'),
      '--x--',
      '',
    ]);
    const viaPool = await pool.parse(raw);
    const direct = await parseMail(raw);
    // Jest's realm has its own Date and Map: compared by kind and value, not by prototype. The
    // thread adds the HTML's safe form (src/common/safe-html.ts), which parseMail alone does not make.
    expect(viaPool).toEqual({ ...direct, safeHtml: direct.html ? sanitizeMailHtml(direct.html) : null });
    expect(types.isDate(viaPool.date)).toBe(true);
    expect(viaPool.date?.toISOString()).toBe('2025-01-14T08:12:00.000Z');
    expect(types.isMap(viaPool.headers)).toBe(true);
    expect([...viaPool.headers]).toEqual([...direct.headers]);
    expect(viaPool.headers.get('subject')).toBe('=?iso-8859-1?Q?caf=E9?=');
    expect(viaPool.attachments.map((a) => Buffer.isBuffer(a.content))).toEqual([true, true]);
    expect(viaPool.attachments[1].content.equals(pdf)).toBe(true);
    expect(viaPool.attachments[1].content.toString('utf8')).toBe('%PDF-1.4 a small file');
    expect(viaPool).toMatchObject({
      from: { address: 'juergen@example.com', name: 'Jürgen' },
      subject: 'café',
      references: ['a@example.com', 'p@example.com'],
      attachments: [
        { inline: true, contentId: 'logo@x' },
        { filename: 'a.pdf', size: pdf.length },
      ],
    });
  });

  it('parses a view of a larger buffer, and sends only its bytes', async () => {
    const raw = mail(['From: a@example.com', 'Subject: slice', '', 'body']);
    const big = Buffer.concat([Buffer.alloc(1024, 0x41), raw, Buffer.alloc(1024, 0x42)]);
    const parsed = await pool.parse(big.subarray(1024, 1024 + raw.length));
    expect(parsed).toMatchObject({ subject: 'slice', text: 'body', size: raw.length });
  });

  it('hashes the raw mail on the thread: its SHA-256, also on a mail it cannot parse', async () => {
    const raw = mail(['From: a@example.com', 'Subject: hashed', '', 'body']);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    await expect(pool.parseHashed(raw)).resolves.toMatchObject({ rawSha256: sha(raw), mail: { subject: 'hashed' } });
    const headers = Buffer.from(Array.from({ length: 1001 }, (_, i) => `X-H${i}: v`).join('\r\n') + '\r\n\r\nbody');
    const err = await pool.parseHashed(headers).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailParseError);
    expect((err as MailParseError).rawSha256).toBe(sha(headers));
  });

  it('takes a large handed-over mail without a copy on the event loop and gives the same bytes back', async () => {
    const text = withFile('handed@example.com', Buffer.alloc(HAND_OVER_FROM_BYTES, 9));
    // A Buffer that is the whole of its ArrayBuffer, as the webhook's body is.
    const given = Buffer.from(new Uint8Array(text).buffer);
    const sha = createHash('sha256').update(text).digest('hex');
    const parsed = await pool.parseOwned(given);
    // Moved to the thread: the caller's Buffer is empty, the answer holds the mail again.
    expect(given.length).toBe(0);
    expect('mail' in parsed && parsed.mail.messageId).toBe('handed@example.com');
    expect(parsed.rawSha256).toBe(sha);
    expect(parsed.raw.equals(text)).toBe(true);
    expect(types.isSharedArrayBuffer(parsed.raw.buffer)).toBe(false);
    // Not handed over (parseHashed), or too small, or a view: the caller keeps its Buffer.
    const kept = Buffer.from(new Uint8Array(text).buffer);
    await expect(pool.parseHashed(kept)).resolves.toMatchObject({ rawSha256: sha });
    expect(kept.equals(text)).toBe(true);
    const small = Buffer.from(new Uint8Array(mail(['From: a@example.com', 'Subject: small', '', 'b'])).buffer);
    const smallParsed = await pool.parseOwned(small);
    expect(small.length).toBeGreaterThan(0);
    expect(smallParsed.raw).toBe(small);
    const view = Buffer.concat([Buffer.from('xx'), text]).subarray(2);
    const viewParsed = await pool.parseOwned(view);
    expect(view.equals(text)).toBe(true);
    expect(viewParsed.raw).toBe(view);
  }, 30_000);

  it('answers a handed-over mail the thread cannot parse with the error, its hash and the raw mail', async () => {
    const headers = Buffer.from(
      new Uint8Array(
        Buffer.from(
          Array.from({ length: 1001 }, (_, i) => `X-H${i}: ${'v'.repeat(300)}`).join('\r\n') + '\r\n\r\nbody',
        ),
      ).buffer,
    );
    const copy = Buffer.from(headers);
    expect(headers.length).toBeGreaterThanOrEqual(HAND_OVER_FROM_BYTES);
    const parsed = await pool.parseOwned(headers);
    expect(headers.length).toBe(0);
    expect('error' in parsed && parsed.error).toBeInstanceOf(MailParseError);
    expect(parsed.rawSha256).toBe(createHash('sha256').update(copy).digest('hex'));
    expect(parsed.raw.equals(copy)).toBe(true);
  });

  it('collects its heap after a large mail (COLLECT_AFTER_BYTES) on the same thread, and goes on parsing', async () => {
    const file = Buffer.alloc(COLLECT_AFTER_BYTES, 7);
    const large = (n: number) => withFile(`large-${n}@example.com`, file);
    await pool.parse(mail(['From: a@example.com', 'Subject: first', '', 'b']));
    const threads = pool.threadIds();
    for (const n of [1, 2]) {
      const parsed = await pool.parse(large(n));
      expect(parsed.messageId).toBe(`large-${n}@example.com`);
      expect(parsed.attachments.map((a) => a.content.equals(file))).toEqual([true]);
    }
    await expect(pool.parse(mail(['From: a@example.com', 'Subject: after', '', 'b']))).resolves.toMatchObject({
      subject: 'after',
    });
    expect(pool.threadIds()).toEqual(threads);
  }, 30_000);

  it('rejects with the MailParseError the thread met', async () => {
    const err = await pool.parse(Buffer.alloc(0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailParseError);
    expect((err as MailParseError).code).toBe('empty');
  });

  it('parses 6,000 encoded words in 6,000 charset labels without stalling the event loop', async () => {
    for (const bytes of ['=E9=E9', '=81=8D']) {
      const words = Array.from({ length: 6000 }, (_, i) => `=?iso-8859-1:${String(i).padStart(4, '0')}?Q?${bytes}?=`);
      const raw = mail(['From: a@example.com', `Subject: ${words.join(' ')}`, 'Message-ID: <w@example.com>', '', 'b']);
      const { result, maxGap } = await withTicks(() => pool.parse(raw));
      expect(result.messageId).toBe('w@example.com');
      expect(result.subject.length).toBeGreaterThan(0);
      expect(maxGap).toBeLessThan(MAX_LOOP_GAP_MS);
    }
  }, 20_000);

  it('stops a mail at its deadline, replaces the thread and parses the next mail', async () => {
    // A deadline well under the 1-6 s this mail takes here, whatever the load.
    const strict = new ParsePool(loadConfig({ MAIL_PARSE_WORKERS: '1', MAIL_PARSE_TIMEOUT_MS: '300' }));
    try {
      await strict.parse(mail(['From: a@example.com', 'Subject: warm', '', 'b']));
      const before = strict.threadIds();
      expect(before).toHaveLength(1);
      const slow = slowMail();
      const started = Date.now();
      const { result: err, maxGap } = await withTicks(() => strict.parse(slow).catch((e: unknown) => e));
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(MailParseError);
      expect((err as MailParseError).code).toBe('timeout');
      expect((err as MailParseError).message).toBe('parsing took longer than 300 ms');
      expect(took).toBeGreaterThanOrEqual(300);
      expect(took).toBeLessThan(300 + 2000);
      expect(maxGap).toBeLessThan(MAX_LOOP_GAP_MS);
      // piscina terminated the thread that was parsing and started another one.
      expect(strict.threadIds()).not.toContain(before[0]);
      const next = await strict.parse(mail(['From: a@example.com', 'Subject: next', '', 'b']));
      expect(next.subject).toBe('next');
      expect(strict.threadIds()).toHaveLength(1);
    } finally {
      await strict.onApplicationShutdown();
    }
  }, 30_000);

  it('gives a handed-over mail back before its deadline runs: one past it still has its raw mail', async () => {
    const strict = new ParsePool(loadConfig({ MAIL_PARSE_WORKERS: '1', MAIL_PARSE_TIMEOUT_MS: '300' }));
    try {
      await strict.parse(mail(['From: a@example.com', 'Subject: warm', '', 'b']));
      const slow = slowMail();
      const given = Buffer.from(new Uint8Array(slow).buffer);
      const { result: parsed, maxGap } = await withTicks(() => strict.parseOwned(given));
      expect(given.length).toBe(0);
      expect('error' in parsed && (parsed.error as MailParseError).code).toBe('timeout');
      expect(parsed.raw.equals(slow)).toBe(true);
      expect(maxGap).toBeLessThan(MAX_LOOP_GAP_MS);
    } finally {
      await strict.onApplicationShutdown();
    }
  }, 30_000);

  it('at shutdown, keeps a handed-over mail no thread took, and says so of one a thread took with it', async () => {
    const closing = new ParsePool(loadConfig({ MAIL_PARSE_WORKERS: '1' }));
    const slow = slowMail();
    // The first mail goes to the only thread (still starting: piscina posts to a first thread at
    // once); the second waits for that thread and is still the caller's when the pool closes.
    const first = closing.parseOwned(Buffer.from(new Uint8Array(slow).buffer)).catch((e: unknown) => e);
    const second = Buffer.from(new Uint8Array(slow).buffer);
    const waiting = closing.parseOwned(second).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await closing.onApplicationShutdown();
    const [a, b] = await Promise.all([first, waiting]);
    // The thread was stopped holding the first mail, or after it gave it back.
    if (a instanceof ParseThreadLostError) expect(a.code).toBe('PARSE_THREAD_LOST');
    else expect((a as { raw: Buffer }).raw.equals(slow)).toBe(true);
    expect((b as Error).message).toBe('the mail parser pool is closed');
    expect(second.equals(slow)).toBe(true);
  }, 30_000);

  it('refuses to start without the built worker', () => {
    const cwd = process.cwd();
    const empty = fs.mkdtempSync(`${os.tmpdir()}/maildesk-no-build-`);
    try {
      process.chdir(empty);
      expect(() => new ParsePool(loadConfig({}))).toThrow(/parse-worker\.js does not exist: run `npm run build` first/);
    } finally {
      process.chdir(cwd);
      fs.rmSync(empty, { recursive: true });
    }
  });
});
