import * as iconv from 'iconv-lite';
import { bodyCharsetFix, repairRawMail } from './repair-raw';

const mail = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');

describe('repairRawMail', () => {
  it('returns clean UTF-8 mail untouched (the fast path)', () => {
    const raw = Buffer.from(
      'From: a@example.com\r\nSubject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n',
      'utf8',
    );
    expect(repairRawMail(raw).raw).toBe(raw);
  });

  it('transcodes an undeclared 8-bit header block to UTF-8', () => {
    const raw = Buffer.concat([
      Buffer.from('From: a@example.com\r\nSubject: '),
      iconv.encode('Проблема с доступом', 'koi8-r'),
      Buffer.from('\r\n\r\nbody\r\n'),
    ]);
    const repaired = repairRawMail(raw);
    expect(repaired.raw.toString('utf8')).toContain('Subject: Проблема с доступом\r\n\r\nbody');
    expect(repaired.topHeader).toContain('Subject: Проблема с доступом');
  });

  it('gives digest parts their implicit message/rfc822 type', () => {
    const raw = mail([
      'Content-Type: multipart/digest; boundary="d"',
      '',
      '--d',
      '',
      'Subject: one',
      '',
      'text',
      '--d--',
      '',
    ]);
    expect(repairRawMail(raw).raw.toString()).toContain('--d\r\nContent-Type: message/rfc822\r\n\r\nSubject: one');
  });

  it('marks a named inline text file after the body as an attachment', () => {
    const raw = mail([
      'Content-Type: multipart/mixed; boundary="m"',
      '',
      '--m',
      'Content-Type: text/plain',
      '',
      'body',
      '--m',
      'Content-Type: text/plain; name="notes.txt"',
      'Content-Disposition: inline; filename="notes.txt"',
      '',
      'notes',
      '--m--',
      '',
    ]);
    expect(repairRawMail(raw).raw.toString()).toContain('Content-Disposition: attachment; filename="notes.txt"');
  });
});

describe('bodyCharsetFix', () => {
  it('detects the charset of an undeclared 8-bit body', () => {
    expect(bodyCharsetFix(iconv.encode('Добрый день! Не могу зайти в почту.', 'windows-1251'), undefined, [])).toBe(
      'windows-1251',
    );
  });

  it('leaves declared and UTF-8 bodies alone', () => {
    expect(bodyCharsetFix(Buffer.from('Grüße', 'utf8'), undefined, [])).toBeNull();
    expect(bodyCharsetFix(iconv.encode('Grüße', 'iso-8859-15'), 'iso-8859-15', [])).toBeNull();
  });

  it('reads UTF-8 declared as us-ascii as UTF-8', () => {
    expect(bodyCharsetFix(Buffer.from('Grüße', 'utf8'), 'us-ascii', [])).toBe('utf-8');
  });
});
