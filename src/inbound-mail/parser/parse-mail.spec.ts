import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MailParseError, parseMail } from './parse-mail';

const FIXTURES = path.resolve('test/fixtures/parser');
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
const mail = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

/** Resolves to the error parseMail rejects with (fails when it resolves). */
async function rejection(raw: Buffer): Promise<unknown> {
  try {
    await parseMail(raw);
  } catch (err) {
    return err;
  }
  throw new Error('parseMail resolved');
}

describe('parseMail', () => {
  describe('ordinary mail', () => {
    const raw = mail([
      'From: =?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <Juergen.Mueller@Example.COM>',
      'To: Support <SUPPORT@maildesk.test>, "Doe, Jane" <jane@example.com>',
      'Cc: team: a@example.com, B@Example.com;',
      'Reply-To: Helpdesk <Reply@Example.com>',
      'Subject: VPN does not',
      ' connect',
      'Date: Tue, 14 Jan 2025 09:12:00 +0100',
      'Message-ID: <CAF123@mail.example.com>',
      'In-Reply-To: <prev-1@maildesk.test> (sent earlier)',
      'References: <orig-1@maildesk.test>',
      '  <prev-1@maildesk.test>',
      'X-Trace: one',
      'X-Trace: two',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'It fails.',
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>It <b>fails</b>.</p>',
      '--alt--',
      '',
    ]);

    it('unwraps and lower-cases addresses', async () => {
      const parsed = await parseMail(raw);
      expect(parsed.from).toEqual({ address: 'juergen.mueller@example.com', name: 'Jürgen Müller' });
      expect(parsed.to).toEqual([
        { address: 'support@maildesk.test', name: 'Support' },
        { address: 'jane@example.com', name: 'Doe, Jane' },
      ]);
      expect(parsed.cc.map((a) => a.address)).toEqual(['a@example.com', 'b@example.com']);
      expect(parsed.replyTo).toEqual({ address: 'reply@example.com', name: 'Helpdesk' });
    });

    it('gives Message-IDs without angle brackets and References as a list', async () => {
      const parsed = await parseMail(raw);
      expect(parsed.messageId).toBe('CAF123@mail.example.com');
      expect(parsed.inReplyTo).toBe('prev-1@maildesk.test');
      expect(parsed.references).toEqual(['orig-1@maildesk.test', 'prev-1@maildesk.test']);
    });

    it('keeps every header unfolded under its lower-cased name, repeats joined by newline', async () => {
      const parsed = await parseMail(raw);
      expect(parsed.headers.get('subject')).toBe('VPN does not connect');
      expect(parsed.headers.get('x-trace')).toBe('one\ntwo');
      expect(parsed.headers.get('from')).toBe('=?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <Juergen.Mueller@Example.COM>');
    });

    it('reads subject, date, text, html, content type and size', async () => {
      const parsed = await parseMail(raw);
      expect(parsed.subject).toBe('VPN does not connect');
      expect(parsed.date?.toISOString()).toBe('2025-01-14T08:12:00.000Z');
      expect(parsed.text.trim()).toBe('It fails.');
      expect(parsed.html).toBe('<p>It <b>fails</b>.</p>');
      expect(parsed.contentType).toBe('multipart/alternative');
      expect(parsed.reportType).toBeNull();
      expect(parsed.size).toBe(raw.length);
    });
  });

  it('derives text from HTML when a mail has only HTML', async () => {
    const parsed = await parseMail(
      mail([
        'From: a@example.com',
        'Content-Type: multipart/mixed; boundary="m"',
        '',
        '--m',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>Hello <b>there</b></p>',
        '--m--',
        '',
      ]),
    );
    expect(parsed.html).toContain('<b>there</b>');
    expect(parsed.text.trim()).toBe('Hello there');
  });

  it('gives a date of null when the Date header is unreadable', async () => {
    const parsed = await parseMail(mail(['From: a@example.com', 'Date: sometime last week', '', 'x']));
    expect(parsed.date).toBeNull();
  });

  it('reports a multipart/report delivery-status bounce', async () => {
    const parsed = await parseMail(
      mail([
        'From: MAILER-DAEMON@mx.example',
        'Content-Type: multipart/report; report-type="Delivery-Status"; boundary="r"',
        '',
        '--r',
        'Content-Type: text/plain',
        '',
        'failed',
        '--r',
        'Content-Type: message/delivery-status',
        '',
        'Final-Recipient: rfc822; a@b',
        '--r--',
        '',
      ]),
    );
    expect(parsed.contentType).toBe('multipart/report');
    expect(parsed.reportType).toBe('delivery-status');
  });

  it('describes attachments with name, type, size, sha256, content id and inline flag', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const parsed = await parseMail(
      mail([
        'From: a@example.com',
        'Content-Type: multipart/related; boundary="r"',
        '',
        '--r',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<img src="cid:logo@x">',
        '--r',
        'Content-Type: image/png; name="logo.png"',
        'Content-ID: <logo@x>',
        'Content-Transfer-Encoding: base64',
        '',
        png.toString('base64'),
        '--r--',
        '',
      ]),
    );
    expect(parsed.html).toContain('cid:logo@x');
    expect(parsed.attachments).toEqual([
      {
        filename: 'logo.png',
        contentType: 'image/png',
        size: png.length,
        sha256: createHash('sha256').update(png).digest('hex'),
        contentId: 'logo@x',
        content: png,
        inline: true,
      },
    ]);
  });

  describe('legacy mail fixtures', () => {
    it('detects an undeclared GB2312 subject and body', async () => {
      const parsed = await parseMail(fixture('gb2312-subject-undeclared.eml'));
      expect(parsed.subject).toBe('关于发票的问题');
      expect(parsed.text).toContain('发票还没有收到');
    });

    it('detects an undeclared Shift_JIS subject', async () => {
      const parsed = await parseMail(fixture('shift-jis-subject-undeclared.eml'));
      expect(parsed.subject).toBe('お問い合わせについて');
    });

    it('detects a KOI8-R sender name', async () => {
      const parsed = await parseMail(fixture('koi8r-from-name.eml'));
      expect(parsed.from).toEqual({ address: 'ivan.petrov@example.ru', name: 'Иван Петров' });
      expect(parsed.text).toContain('Принтер на третьем этаже');
    });

    it('detects a windows-1251 body without charset', async () => {
      const parsed = await parseMail(fixture('windows-1251-body-undeclared.eml'));
      expect(parsed.subject).toBe('Нет доступа к почте');
      expect(parsed.text).toContain('не могу зайти в почту');
    });

    it('decodes a UTF-7 subject and text body', async () => {
      const parsed = await parseMail(fixture('utf7-subject.eml'));
      expect(parsed.subject).toBe('Die Hasen und die Frösche');
      expect(parsed.text.trim()).toBe('Die Hasen und die Frösche');
    });

    it('names nameless attachments from their content type', async () => {
      const parsed = await parseMail(fixture('nameless-pdf.eml'));
      expect(parsed.from?.address).toBe('anna.schmidt@example.de');
      expect(parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([
        ['attachment.pdf', 'application/pdf'],
        ['attachment.bin', 'application/octet-stream'],
      ]);
      expect(parsed.attachments[0].content.subarray(0, 5).toString()).toBe('%PDF-');
    });

    it('names an attached mail after its subject', async () => {
      const parsed = await parseMail(fixture('attached-message-nameless.eml'));
      expect(parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([
        ['Invoice 42 – overdue.eml', 'message/rfc822'],
      ]);
    });
  });

  describe('broken From lines', () => {
    it.each([
      ['John Doe john.doe@Example.com', 'john.doe@example.com', 'John Doe'],
      ['"Doe, John <john@example.com>', 'john@example.com', 'Doe, John'],
      ['<JOHN@example.com> (John Doe)', 'john@example.com', 'John Doe'],
      ['=?utf-8?Q?M=C3=BCller?= <mueller@example.com', 'mueller@example.com', 'Müller'],
    ])('finds the sender in %s', async (line, address, name) => {
      const parsed = await parseMail(mail([`From: ${line}`, 'Subject: x', '', 'b']));
      expect(parsed.from).toEqual({ address, name });
    });

    it('gives no sender when the From line has no address', async () => {
      const parsed = await parseMail(mail(['From: Whomever', 'Subject: x', '', 'b']));
      expect(parsed.from).toBeNull();
    });
  });

  describe('hostile input', () => {
    it('rejects an empty mail with a MailParseError', async () => {
      const err = await rejection(Buffer.alloc(0));
      expect(err).toBeInstanceOf(MailParseError);
      expect((err as MailParseError).code).toBe('empty');
    });

    it('rejects a 1 MB header line with a MailParseError', async () => {
      const err = await rejection(mail(['From: a@example.com', `X-Big: ${'a'.repeat(1024 * 1024)}`, '', 'b']));
      expect(err).toBeInstanceOf(MailParseError);
      expect((err as MailParseError).code).toBe('header-too-large');
    });

    it('parses a multipart nested 100 levels deep', async () => {
      let s = 'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n';
      for (let i = 1; i < 100; i++) s += `--b${i - 1}\r\nContent-Type: multipart/mixed; boundary="b${i}"\r\n\r\n`;
      s += '--b99\r\nContent-Type: text/plain\r\n\r\ndeep\r\n';
      for (let i = 99; i >= 0; i--) s += `--b${i}--\r\n`;
      const parsed = await parseMail(Buffer.from(s));
      expect(parsed.text.trim()).toBe('deep');
    });

    it('rejects thousands of parts with a MailParseError', async () => {
      let s = 'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n';
      for (let i = 0; i < 3000; i++) s += '--x\r\nContent-Type: application/octet-stream\r\n\r\nAA\r\n';
      const err = await rejection(Buffer.from(s + '--x--\r\n'));
      expect(err).toBeInstanceOf(MailParseError);
    });

    it('keeps what it can of a truncated mail', async () => {
      const parsed = await parseMail(
        mail([
          'From: a@example.com',
          'Subject: cut',
          'Content-Type: multipart/mixed; boundary="x"',
          '',
          '--x',
          'Content-Type: application/pdf',
          'Content-Transfer-Encoding: base64',
          '',
          'JVBERi0xLjQK',
        ]),
      );
      expect(parsed.subject).toBe('cut');
      expect(parsed.attachments.map((a) => a.filename)).toEqual(['attachment.pdf']);
    });

    it('survives bad base64', async () => {
      const parsed = await parseMail(
        mail([
          'From: a@example.com',
          'Content-Type: multipart/mixed; boundary="x"',
          '',
          '--x',
          'Content-Type: image/png',
          'Content-Transfer-Encoding: base64',
          '',
          '====AAAA***!!',
          '--x--',
          '',
        ]),
      );
      expect(parsed.attachments.map((a) => a.filename)).toEqual(['image.png']);
    });

    it('survives random bytes', async () => {
      const bytes = Buffer.alloc(64 * 1024);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + (i >> 3) * 31) & 0xff;
      const parsed = await parseMail(bytes);
      expect(parsed.from).toBeNull();
    });
  });
});
