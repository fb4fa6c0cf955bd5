/** The file is not an mbox: its first non-empty line is no `From ` separator. */
export class MboxError extends Error {}

const FROM = Buffer.from('From ');
const ESCAPED_FROM = /^>+From /;

/**
 * Splits an mbox (mboxrd: every line starting with `From ` begins a message; `>From `, `>>From `
 * ... in a body lose one `>`) into raw messages, streaming: one message in memory at a time.
 * The blank line the writer put before each separator is removed; bytes are kept as they are.
 */
export async function* readMbox(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const message of readMboxMessages(chunks)) yield message.raw;
}

/** One message of an mbox: its bytes and the envelope sender of its `From ` line. */
export interface MboxMessage {
  raw: Buffer;
  /** The first word of the `From ` separator (`From jane@example.com Wed Nov 25 ...`); null when none. */
  envelopeFrom: string | null;
}

/** The sender word of a `From ` separator line (`-` and `MAILER-DAEMON` included: the caller checks it). */
export function separatorSender(line: Buffer): string | null {
  const word = /^From +(\S+)/.exec(line.subarray(0, 1024).toString('latin1'));
  return word ? word[1] : null;
}

/** As readMbox, with each message's envelope sender. */
export async function* readMboxMessages(chunks: AsyncIterable<Buffer>): AsyncGenerator<MboxMessage> {
  let current: Buffer[] | null = null;
  let currentSender: string | null = null;
  let carry: Buffer = Buffer.alloc(0);

  const finish = (): MboxMessage | null => {
    if (!current) return null;
    const last = current[current.length - 1];
    if (last && (last.length === 1 || (last.length === 2 && last[0] === 13)) && last[last.length - 1] === 10)
      current.pop();
    const raw = Buffer.concat(current);
    current = null;
    return raw.length ? { raw, envelopeFrom: currentSender } : null;
  };

  // Returns a finished message when `line` starts the next one.
  const take = (line: Buffer): MboxMessage | null => {
    if (line.subarray(0, 5).equals(FROM)) {
      const done = finish();
      current = [];
      currentSender = separatorSender(line);
      return done;
    }
    if (!current) {
      if (line.toString('latin1').trim() === '') return null;
      throw new MboxError('not an mbox file: the first line does not start with "From "');
    }
    current.push(Buffer.from(ESCAPED_FROM.test(line.subarray(0, 64).toString('latin1')) ? line.subarray(1) : line));
    return null;
  };

  for await (const chunk of chunks) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const done = take(buf.subarray(start, nl + 1));
      start = nl + 1;
      if (done) yield done;
    }
    // Lines are copied: the stream may reuse its chunk buffers.
    carry = Buffer.from(buf.subarray(start));
  }
  if (carry.length) {
    const done = take(carry);
    if (done) yield done;
  }
  const last = finish();
  if (last) yield last;
}
