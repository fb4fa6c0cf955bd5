import {
  MAX_ATTACHMENTS,
  MAX_ENCODED_WORDS_PER_HEADER,
  MAX_HEADER_BYTES,
  MAX_HEADER_FIELDS,
  MAX_MIME_PARTS,
  MAX_PART_HEADER_COST,
  MAX_REFERENCES,
} from './limits';
import { MailParseError, parseMail } from './parse-mail';
import { parseFailureReason } from './parse-failure-reason';

const mail = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

/** Resolves to the MailParseError parseMail rejects with (fails when it resolves). */
async function rejection(raw: Buffer): Promise<MailParseError> {
  try {
    await parseMail(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(MailParseError);
    return err as MailParseError;
  }
  throw new Error('parseMail resolved');
}

/** A mail with `fields` header fields in its top block (From and Subject among them). */
function withFields(fields: number): Buffer {
  const lines = ['From: a@example.com', 'Subject: fields'];
  for (let i = lines.length; i < fields; i++) lines.push(`X-Trace-${i}: hop ${i}`);
  return mail([...lines, '', 'body']);
}

/** A multipart/mixed mail of `children` parts, each made by `part(i)`. */
function multipart(children: number, part: (i: number) => string): Buffer {
  let s = 'From: a@example.com\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n';
  for (let i = 0; i < children; i++) s += `--x\r\n${part(i)}\r\n`;
  return Buffer.from(s + '--x--\r\n');
}

const attachment = (i: number) =>
  `Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=f${i}.bin\r\n\r\nAA`;

describe('parser caps (limits.ts)', () => {
  it(`parses ${MAX_HEADER_FIELDS} header fields and quarantines one more as "too many headers"`, async () => {
    await expect(parseMail(withFields(MAX_HEADER_FIELDS))).resolves.toMatchObject({ subject: 'fields' });
    const err = await rejection(withFields(MAX_HEADER_FIELDS + 1));
    expect(err.code).toBe('too-many-headers');
    expect(parseFailureReason(err)).toBe(
      `too many headers: ${MAX_HEADER_FIELDS + 1} fields in the top header block (limit ${MAX_HEADER_FIELDS})`,
    );
  });

  it('counts folded lines as part of their field', async () => {
    const folded = ['From: a@example.com', 'Subject: folded'];
    for (let i = 0; i < MAX_HEADER_FIELDS; i++) folded.push(` continued ${i}`);
    await expect(parseMail(mail([...folded, '', 'body']))).resolves.toMatchObject({ subject: expect.any(String) });
  });

  it(`quarantines a top header block over ${MAX_HEADER_BYTES} bytes as "header too large"`, async () => {
    const head = 'From: a@example.com\r\nSubject: big\r\nX-Big: ';
    const fits = mail([head + 'a'.repeat(MAX_HEADER_BYTES - head.length), '', 'body']);
    await expect(parseMail(fits)).resolves.toMatchObject({ subject: 'big' });
    const err = await rejection(mail([head + 'a'.repeat(MAX_HEADER_BYTES - head.length + 1), '', 'body']));
    expect(err.code).toBe('header-too-large');
    expect(parseFailureReason(err)).toMatch(/^header too large: /);
  });

  it(`quarantines a MIME part whose header costs mailparser over ${MAX_PART_HEADER_COST} bytes`, async () => {
    const part = (lines: number) => () => `Content-Type: text/plain\r\n${'X-L: a\r\n'.repeat(lines)}\r\nbody`;
    // mailparser counts each of these short lines as 64 bytes.
    await expect(parseMail(multipart(1, part(MAX_PART_HEADER_COST / 64 - 10)))).resolves.toMatchObject({
      subject: 'parts',
    });
    const err = await rejection(multipart(1, part(MAX_PART_HEADER_COST / 64 + 1)));
    expect(err.code).toBe('header-too-large');
    expect(parseFailureReason(err)).toMatch(/^header too large: a MIME part's header/);
  });

  it('does not take a large body for a large header', async () => {
    const raw = mail(['From: a@example.com', 'Subject: long body', '', 'x'.repeat(2 * MAX_HEADER_BYTES)]);
    await expect(parseMail(raw)).resolves.toMatchObject({ subject: 'long body' });
  });

  it(`parses ${MAX_MIME_PARTS} MIME parts (the top one included) and quarantines one more`, async () => {
    const text = (i: number) => `Content-Type: text/plain\r\n\r\npart ${i}`;
    await expect(parseMail(multipart(MAX_MIME_PARTS - 1, text))).resolves.toMatchObject({ subject: 'parts' });
    const err = await rejection(multipart(MAX_MIME_PARTS, text));
    expect(err.code).toBe('too-many-parts');
    expect(parseFailureReason(err)).toBe(`too many MIME parts: more than ${MAX_MIME_PARTS}`);
  });

  it(`keeps ${MAX_ATTACHMENTS} attachments and quarantines a mail with one more`, async () => {
    const parsed = await parseMail(multipart(MAX_ATTACHMENTS, attachment));
    expect(parsed.attachments).toHaveLength(MAX_ATTACHMENTS);
    const err = await rejection(multipart(MAX_ATTACHMENTS + 1, attachment));
    expect(err.code).toBe('too-many-attachments');
    expect(parseFailureReason(err)).toBe(`too many attachments: ${MAX_ATTACHMENTS + 1} (limit ${MAX_ATTACHMENTS})`);
  });

  it(`keeps the last ${MAX_REFERENCES} References ids`, async () => {
    const ids = Array.from({ length: MAX_REFERENCES + 1 }, (_, i) => `<ref${i}@example.com>`);
    const parsed = await parseMail(mail(['From: a@example.com', `References: ${ids.join(' ')}`, '', 'b']));
    expect(parsed.references).toHaveLength(MAX_REFERENCES);
    expect(parsed.references[0]).toBe('ref1@example.com');
    expect(parsed.references.at(-1)).toBe(`ref${MAX_REFERENCES}@example.com`);
  });

  it(`repairs ${MAX_ENCODED_WORDS_PER_HEADER} encoded words of a subject and leaves the rest as written`, async () => {
    // 0x93/0x94 are Windows-1252 quotes, control characters in the ISO-8859-1 the words declare:
    // the repair reads them as quotes; past the cap the words are left to mailparser.
    const words = Array.from({ length: MAX_ENCODED_WORDS_PER_HEADER + 1 }, () => '=?iso-8859-1:1987?Q?=93a=94?=');
    const parsed = await parseMail(mail(['From: a@example.com', `Subject: ${words.join(' ')}`, '', 'b']));
    expect(parsed.subject.startsWith('“a”'.repeat(MAX_ENCODED_WORDS_PER_HEADER))).toBe(true);
    expect(parsed.subject.slice('“a”'.length * MAX_ENCODED_WORDS_PER_HEADER)).not.toBe('“a”');
  });

  it('parses a subject of 6,000 words in 6,000 charset labels in seconds (was minutes)', async () => {
    // iconv-lite ignores a `:dddd` suffix: these were 6,000 distinct hints, each scored for each word.
    const words = Array.from({ length: 6000 }, (_, i) => `=?iso-8859-1:${String(i).padStart(4, '0')}?Q?=81=8D?=`);
    const started = Date.now();
    const parsed = await parseMail(mail(['From: a@example.com', `Subject: ${words.join(' ')}`, '', 'b']));
    expect(parsed.from?.address).toBe('a@example.com');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
