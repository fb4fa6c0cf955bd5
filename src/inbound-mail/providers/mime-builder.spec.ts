import { simpleParser } from 'mailparser';
import { buildRfc5322, type ParsedFields } from './mime-builder';

const fields = (over: Partial<ParsedFields> = {}): ParsedFields => ({
  headers: [
    ['Received', 'by mx.example with SMTP; Wed, 25 Nov 2026 09:00:01 +0000'],
    ['From', 'Alice <alice@customer.test>'],
    ['Message-Id', '<m1@customer.test>'],
    ['In-Reply-To', '<m0@desk.test>'],
    ['References', '<a@desk.test> <m0@desk.test>'],
    ['Auto-Submitted', 'auto-replied'],
    ['Content-Type', 'multipart/mixed; boundary="gone"'],
    ['Bcc', 'secret@customer.test'],
    ['Bad Name', 'x'],
  ],
  from: 'Ignored <ignored@customer.test>',
  to: 'support@desk.test',
  cc: '"Zoë" <zoe@customer.test>',
  subject: 'Grüße aus Köln',
  date: 'Wed, 25 Nov 2026 09:00:00 +0000',
  text: 'Hello',
  html: '<p>Hello <img src="cid:logo@customer.test"></p>',
  attachments: [
    {
      filename: '../../etc/logo.png',
      contentType: 'image/png',
      content: Buffer.from('png'),
      contentId: '<logo@customer.test>',
    },
    { filename: 'a.pdf', contentType: 'bogus type', content: Buffer.from('pdf'), contentId: null },
  ],
  ...over,
});

describe('buildRfc5322', () => {
  it('writes the header list first, the fields where it lacks a header, and the other headers as they were', async () => {
    const mail = await simpleParser(await buildRfc5322(fields()));
    expect(mail.from?.value[0]).toEqual({ address: 'alice@customer.test', name: 'Alice' });
    expect(mail.messageId).toBe('<m1@customer.test>');
    expect(mail.inReplyTo).toBe('<m0@desk.test>');
    expect(mail.references).toEqual(['<a@desk.test>', '<m0@desk.test>']);
    expect(mail.subject).toBe('Grüße aus Köln');
    expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.headers.has('bad name')).toBe(false);
    expect(mail.date?.toISOString()).toBe('2026-11-25T09:00:00.000Z');
    expect((mail.cc as { value: Array<{ name: string }> }).value[0].name).toBe('Zoë');
  });

  it('keeps text and HTML as alternatives and the attachments with their content ids and safe names', async () => {
    const mail = await simpleParser(await buildRfc5322(fields()));
    expect(mail.text?.trim()).toBe('Hello');
    expect(mail.html).toContain('<p>Hello');
    const byName = Object.fromEntries(mail.attachments.map((a) => [a.filename, a]));
    expect(byName['logo.png'].contentId).toBe('<logo@customer.test>');
    expect(byName['a.pdf'].contentType).not.toBe('bogus type');
  });

  it('gives the same bytes for the same fields, and a Message-ID of their hash where none is given', async () => {
    const noId = fields({ headers: [], messageId: null });
    const a = await buildRfc5322(noId);
    const b = await buildRfc5322(noId);
    expect(a.equals(b)).toBe(true);
    expect(a.toString()).toMatch(/^Message-ID: <[0-9a-f]{32}@parsed\.maildesk\.invalid>/m);
    const other = await buildRfc5322(fields({ headers: [], messageId: null, text: 'Bye' }));
    expect(other.toString().match(/^Message-ID: .*$/m)?.[0]).not.toBe(a.toString().match(/^Message-ID: .*$/m)?.[0]);
  });

  it('takes the fields Message-ID where the header list has none', async () => {
    const mail = await simpleParser(await buildRfc5322(fields({ headers: [], messageId: 'uuid-1' })));
    expect(mail.messageId).toBe('<uuid-1>');
  });
});
