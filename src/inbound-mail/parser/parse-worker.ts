/**
 * The code of a ParsePool thread (src/inbound-mail/parser/parse-pool.ts), loaded by piscina from
 * the build (dist/src/inbound-mail/parser/parse-worker.js): runs `parseMail` on one raw mail and
 * answers a ParseOutcome. The attachments' contents are transferred back, not copied.
 */
import { createHash } from 'node:crypto';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { sanitizeMailHtml } from '../../common/safe-html';
import { MailParseError } from './mail-parse-error';
import { parseMail, preloadParser } from './parse-mail';
import { COLLECT_AFTER_BYTES, type ParseOutcome, type ParseTask } from './parse-outcome';
import type { ParsedMail } from './parsed-mail';

/** The ArrayBuffers of the attachments' contents, each made to hold exactly its content. */
function ownBuffers(mail: ParsedMail): ArrayBuffer[] {
  const list = new Set<ArrayBuffer>();
  for (const attachment of mail.attachments) {
    let content = attachment.content;
    const whole = content.byteOffset === 0 && content.byteLength === content.buffer.byteLength;
    if (!whole || list.has(content.buffer as ArrayBuffer) || !(content.buffer instanceof ArrayBuffer)) {
      content = Buffer.from(new Uint8Array(content));
      attachment.content = content;
    }
    list.add(content.buffer as ArrayBuffer);
  }
  return [...list];
}

/** A value piscina posts with `transfer` as its transfer list. */
function withTransfer<T extends object>(value: T, transfer: ArrayBuffer[]): T {
  return move({ [transferableSymbol]: transfer, [valueSymbol]: value }) as unknown as T;
}

/** The `gc` function, once made; null when it could not be (no collection then). */
let collect: (() => void) | null | undefined;

/**
 * Collects this thread's heap once the answer is posted (setImmediate runs after piscina posts it).
 * A large mail leaves here a latin1 string of the whole mail (repair-raw's walk), mailparser's
 * decoded chunks and the copy of the raw mail it was handed: tens of MB of garbage per 20 MB mail
 * that this small heap (an idle thread allocates nothing) would otherwise keep until some later
 * mail fills it (bench:hostile, docs/performance.md). The collection runs on this niced
 * thread, over a heap of a few MB of live objects: milliseconds, after a mail that took hundreds.
 */
function collectSoon(): void {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc: unknown = vm.runInNewContext('gc');
      collect = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collect = null;
    }
  }
  if (collect) setImmediate(collect);
}

/**
 * The raw mail this thread parses: `task.raw` itself, or, when it is the caller's own (handed over),
 * a copy made here (on this niced thread, not the event loop) before the original is given back:
 * a deadline can then still quarantine the mail, which the caller holds again.
 */
function ownCopy(task: ParseTask): Buffer {
  const { raw: sent, giveBack } = task;
  if (!giveBack) return Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength);
  const raw = Buffer.allocUnsafeSlow(sent.byteLength);
  raw.set(sent);
  giveBack.postMessage(sent, [sent.buffer as ArrayBuffer]);
  giveBack.close();
  return raw;
}

async function parseTask(task: ParseTask): Promise<ParseOutcome> {
  const raw = ownCopy(task);
  new Float64Array(task.started)[0] = Date.now();
  // The mail's key when it has no Message-ID: hashed here, not on the event loop (~40 ms for 20 MB).
  const rawSha256 = createHash('sha256').update(raw).digest('hex');
  try {
    const mail = await parseMail(raw);
    // The allow-list here, off the event loop (CPU grows with the HTML, which is bounded by SAFE_HTML_MAX_INPUT).
    mail.safeHtml = mail.html ? sanitizeMailHtml(mail.html) : null;
    return withTransfer<ParseOutcome>({ ok: true, mail, rawSha256 }, ownBuffers(mail));
  } catch (e) {
    const error = e instanceof MailParseError ? e : new MailParseError('malformed', (e as Error).message);
    return { ok: false, code: error.code, message: error.message, rawSha256 };
  }
}

/**
 * A small mail with what most mail has (an HTML part, a quoted reply, an encoded-word subject): the
 * thread parses it once before it takes its first real mail, so that mail does not pay for the
 * first run of mailparser, the repairs, the quote stripping and the HTML allow-list (tens of ms of
 * compilation, more on a busy machine where the thread runs niced) inside its deadline.
 */
const WARM_UP_MAIL = Buffer.from(
  [
    'From: =?utf-8?q?Warm_=C3=A9?= <warm@up.invalid>',
    'To: support@up.invalid',
    'Subject: =?utf-8?b?UmU6IHdhcm0gdXA=?=',
    'Message-ID: <warm-up@up.invalid>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Thanks, it works now =C3=A9.',
    '',
    'On Mon, 7 Dec 2026 at 10:00, Support <support@up.invalid> wrote:',
    '> Please try again.',
    '--b',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Thanks, it works now.</p><blockquote><p>Please try again.</p></blockquote><img src="cid:x">',
    '--b--',
    '',
  ].join('\r\n'),
);

async function warmUp(): Promise<void> {
  const raw = new Uint8Array(WARM_UP_MAIL);
  await parseTask({ raw, started: new SharedArrayBuffer(8) });
}

/** One mail, then (a large one) the collection of what it left (collectSoon). */
async function handleTask(task: ParseTask): Promise<ParseOutcome> {
  try {
    return await parseTask(task);
  } finally {
    if (task.raw.byteLength >= COLLECT_AFTER_BYTES) collectSoon();
  }
}

/** The task handler, once mailparser is loaded and warm: piscina awaits it before the thread takes a mail. */
export default preloadParser()
  .then(warmUp)
  .then(() => handleTask);
