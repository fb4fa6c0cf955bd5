import { mailgunMail } from './mailgun-payload';
import { postmarkMail } from './postmark-payload';
import { headerBlock, sendgridMail } from './sendgrid-payload';

describe('provider payloads', () => {
  it('reads SendGrid headers with folded lines joined', () => {
    expect(headerBlock('Subject: a\n  b\nX-Y: z\nnot a header\n')).toEqual([
      ['Subject', 'a b'],
      ['X-Y', 'z'],
    ]);
  });

  it('decodes SendGrid fields in the charsets it names', () => {
    const latin1 = Buffer.from('Grüße', 'latin1').toString('latin1');
    const mail = sendgridMail({
      fields: {
        from: 'a@customer.test',
        subject: latin1,
        charsets: '{"subject":"iso-8859-1"}',
        envelope: '{"to":["S@desk.test"]}',
      },
      files: [],
    });
    expect(mail.fields?.subject).toBe('Grüße');
    expect(mail.envelopeTo).toEqual(['s@desk.test']);
  });

  it("maps Mailgun's content-id-map onto its attachment fields", () => {
    const mail = mailgunMail({
      fields: {
        from: 'a@customer.test',
        'content-id-map': '{"<c1@x>": "attachment-2"}',
        recipient: 'a@desk.test, b@desk.test',
      },
      files: [
        { field: 'attachment-1', filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('a') },
        { field: 'attachment-2', filename: 'b.png', contentType: 'image/png', content: Buffer.from('b') },
        { field: 'other', filename: 'c', contentType: 'text/plain', content: Buffer.from('c') },
      ],
    });
    expect(mail.fields?.attachments.map((a) => [a.filename, a.contentId])).toEqual([
      ['a.txt', null],
      ['b.png', 'c1@x'],
    ]);
    expect(mail.envelopeTo).toEqual(['a@desk.test', 'b@desk.test']);
  });

  it('refuses malformed payloads with 400s', () => {
    expect(() => mailgunMail({ fields: { 'message-headers': '{' }, files: [] })).toThrow('not valid JSON');
    expect(() => mailgunMail({ fields: { recipient: 'a@desk.test' }, files: [] })).toThrow('neither body-mime');
    expect(() => postmarkMail({ Headers: 'x' })).toThrow('Headers must be an array');
    expect(() => postmarkMail({ From: 'a@x.test', Attachments: [{ Content: '***' }] })).toThrow('must be base64');
    expect(() => postmarkMail({ From: 'a@x.test', Subject: 5 })).toThrow('Subject must be a string');
    expect(() => sendgridMail({ fields: { spam_score: '1' }, files: [] })).toThrow('neither email');
  });
});
