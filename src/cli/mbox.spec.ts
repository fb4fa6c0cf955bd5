import { Readable } from 'node:stream';
import { MboxError, readMbox, readMboxMessages } from './mbox';

async function split(text: string, chunkSize = 7): Promise<string[]> {
  const buf = Buffer.from(text, 'latin1');
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  const out: string[] = [];
  for await (const raw of readMbox(Readable.from(chunks))) out.push(raw.toString('latin1'));
  return out;
}

describe('readMbox', () => {
  it('splits on From lines, drops the separator blank line and unescapes >From', async () => {
    const mbox =
      'From a@x Mon Nov 24 09:00:00 2025\nSubject: one\n\nhello\n>From here\n>>From there\n\n' +
      'From b@x Mon Nov 24 09:01:00 2025\nSubject: two\n\nbye\n';
    expect(await split(mbox)).toEqual(['Subject: one\n\nhello\nFrom here\n>From there\n', 'Subject: two\n\nbye\n']);
  });

  it('keeps CRLF line ends and 8-bit bytes, and a last message without a final newline', async () => {
    const mbox = 'From a@x\r\nSubject: caf\xe9\r\n\r\nbody\r\n\r\nFrom b@x\r\nSubject: last\r\n\r\nno newline';
    expect(await split(mbox, 3)).toEqual(['Subject: caf\xe9\r\n\r\nbody\r\n', 'Subject: last\r\n\r\nno newline']);
  });

  it('gives nothing for an empty file and rejects a file that is not an mbox', async () => {
    expect(await split('')).toEqual([]);
    expect(await split('\n\n')).toEqual([]);
    await expect(split('Subject: not an mbox\n\nbody\n')).rejects.toThrow(MboxError);
  });

  it('gives each message the envelope sender of its `From ` line', async () => {
    const mbox =
      'From jane@example.com Mon Nov 24 09:00:00 2025\r\nSubject: one\r\n\r\nhi\r\n\r\n' +
      'From MAILER-DAEMON Mon Nov 24 09:01:00 2025\nSubject: two\n\nbye\n';
    const out: Array<{ text: string; envelopeFrom: string | null }> = [];
    for await (const m of readMboxMessages(Readable.from([Buffer.from(mbox, 'latin1')])))
      out.push({ text: m.raw.toString('latin1'), envelopeFrom: m.envelopeFrom });
    expect(out).toEqual([
      { text: 'Subject: one\r\n\r\nhi\r\n', envelopeFrom: 'jane@example.com' },
      { text: 'Subject: two\n\nbye\n', envelopeFrom: 'MAILER-DAEMON' },
    ]);
  });
});
