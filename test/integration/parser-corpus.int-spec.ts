import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MailParseError, parseMail } from '../../src/inbound-mail/parser/parse-mail';
import { ParsedMail } from '../../src/inbound-mail/parser/parsed-mail';

/**
 * Runs every mail of the Stalwart corpus through parseMail and compares sender address, subject and
 * attachment names with the expectations of an independent parser (the Rust crate mail-parser).
 */
const CORPUS = path.resolve('test/corpus/stalwart');
const THRESHOLD = 0.98;

type Field = 'from' | 'subject' | 'attachments';

interface Exception {
  field: Field;
  /** What we produce instead, asserted exactly: a person reads this. */
  ours: string;
  reason: string;
}

/** Mails where the reference expectation is itself debatable; they are checked against `ours` and left out of the rates. */
const EXCEPTIONS: Record<string, Exception> = {
  'legacy/010.eml': {
    field: 'subject',
    ours: 'Die Hasen und die Frösche',
    reason: 'raw 8-bit Latin-1 subject (the body declares iso-8859-1); the reference keeps U+FFFD',
  },
  'legacy/020.eml': {
    field: 'subject',
    ours: 'Die Hasen und die Frösche (Microsoft Outlook 00)',
    reason: 'raw 8-bit Latin-1 subject; the reference keeps U+FFFD',
  },
  'legacy/022.eml': {
    field: 'subject',
    ours: 'Die Hasen und die Frösche (Microsoft Outlook 00)',
    reason: 'raw 8-bit Latin-1 subject; the reference keeps U+FFFD',
  },
  'legacy/027.eml': {
    field: 'subject',
    ours: 'Die Hasen und die Frösche (Microsoft Outlook 00)',
    reason: 'raw 8-bit Latin-1 subject; the reference keeps U+FFFD',
  },
  'legacy/052.eml': {
    field: 'subject',
    ours: 'Die Hasen und die Frösche (Microsoft Outlook 00)',
    reason: 'raw 8-bit Latin-1 subject; the reference keeps U+FFFD',
  },
  'legacy/034.eml': {
    field: 'subject',
    ours: 'Die Hasen und die Frösche',
    reason: 'undeclared UTF-7 subject of a UTF-7 mail; the reference keeps the raw +APY- run',
  },
  'legacy/016.eml': {
    field: 'attachments',
    ours: 'blueball.png|HasenundFrösche.txt',
    reason: 'raw 8-bit Latin-1 file name; the reference keeps U+FFFD',
  },
  'legacy/023.eml': {
    field: 'attachments',
    ours: 'blueball.png|farmerandstork.txt|HasenundFrösche.txt',
    reason: 'raw 8-bit Latin-1 file name; the reference keeps U+FFFD',
  },
  'legacy/026.eml': {
    field: 'attachments',
    ours: 'HasenundFrösche.txt|farmerandstork.txt',
    reason: 'raw 8-bit Latin-1 file name; the reference keeps U+FFFD',
  },
};

interface HeaderEntry {
  name: string | { other: string };
  value: unknown;
}
interface Part {
  headers: HeaderEntry[];
}
interface Expectation {
  attachments: number[];
  parts: Part[];
}
interface ContentTypeValue {
  c_type: string;
  c_subtype: string | null;
  attributes: Array<[string, string]> | Record<string, string> | null;
}

function header(part: Part, name: string): unknown {
  return part.headers.find((h) => h.name === name)?.value ?? null;
}

function attribute(value: unknown, key: string): string | null {
  const ct = (value as { ContentType?: ContentTypeValue } | null)?.ContentType;
  const attrs = ct?.attributes;
  if (!attrs) return null;
  if (Array.isArray(attrs)) return attrs.find((a) => a[0] === key)?.[1] ?? null;
  return attrs[key] ?? null;
}

function expectedFrom(exp: Expectation): string | null {
  const value = header(exp.parts[0], 'from') as { Address?: { List?: Array<{ address: string | null }> } } | null;
  return value?.Address?.List?.[0]?.address?.toLowerCase() ?? null;
}

function expectedSubject(exp: Expectation): string {
  return (header(exp.parts[0], 'subject') as { Text?: string } | null)?.Text ?? '';
}

function expectedAttachmentNames(exp: Expectation): Array<string | null> {
  return exp.attachments.map((i) => {
    const part = exp.parts[i];
    return (
      attribute(header(part, 'content_disposition'), 'filename') ?? attribute(header(part, 'content_type'), 'name')
    );
  });
}

/** NFC, whitespace collapsed, trimmed. */
function normalize(s: string): string {
  return s.normalize('NFC').replace(/\s+/g, ' ').trim();
}

/** Same count; every name the reference gives is ours too; a nameless reference part matches any name we made up. */
function namesAgree(expected: Array<string | null>, ours: string[]): boolean {
  if (expected.length !== ours.length) return false;
  const left = ours.map(normalize);
  for (const name of expected.filter((n): n is string => n !== null)) {
    const i = left.indexOf(normalize(name));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return left.every((n) => n.length > 0);
}

interface Case {
  file: string;
  raw: Buffer;
  exp: Expectation;
}

function loadCorpus(): Case[] {
  const cases: Case[] = [];
  for (const dir of ['rfc', 'legacy']) {
    for (const name of readdirSync(path.join(CORPUS, dir))
      .filter((f) => f.endsWith('.eml'))
      .sort()) {
      const file = `${dir}/${name}`;
      const exp = JSON.parse(
        readFileSync(path.join(CORPUS, dir, name.replace(/\.eml$/, '.json')), 'utf8'),
      ) as Expectation;
      cases.push({ file, raw: readFileSync(path.join(CORPUS, file)), exp });
    }
  }
  return cases;
}

describe('parser on the Stalwart corpus', () => {
  const cases = loadCorpus();
  const parsed = new Map<string, ParsedMail | MailParseError>();

  beforeAll(async () => {
    for (const c of cases) {
      try {
        parsed.set(c.file, await parseMail(c.raw));
      } catch (err) {
        if (!(err instanceof MailParseError)) throw err;
        parsed.set(c.file, err);
      }
    }
  });

  it('has mails to check', () => {
    expect(cases.length).toBeGreaterThan(50);
  });

  it('parses every mail or rejects it with a MailParseError only', () => {
    expect(parsed.size).toBe(cases.length);
  });

  it('produces what a person reads where the reference is debatable', () => {
    for (const [file, exception] of Object.entries(EXCEPTIONS)) {
      const mail = parsed.get(file);
      expect(mail).toBeDefined();
      if (!mail || mail instanceof MailParseError) throw new Error(`${file} did not parse`);
      const ours =
        exception.field === 'subject'
          ? mail.subject
          : exception.field === 'from'
            ? (mail.from?.address ?? '')
            : mail.attachments.map((a) => a.filename).join('|');
      expect({ file, value: normalize(ours) }).toEqual({ file, value: normalize(exception.ours) });
    }
  });

  it(`agrees with the reference on from, subject and attachment names for at least ${THRESHOLD * 100}%`, () => {
    const rates: Record<Field, { agree: number; total: number; misses: string[] }> = {
      from: { agree: 0, total: 0, misses: [] },
      subject: { agree: 0, total: 0, misses: [] },
      attachments: { agree: 0, total: 0, misses: [] },
    };
    for (const c of cases) {
      const mail = parsed.get(c.file);
      const ok = mail !== undefined && !(mail instanceof MailParseError) ? mail : null;
      const checks: Record<Field, [boolean, string]> = {
        from: [(ok?.from?.address ?? null) === expectedFrom(c.exp), `${ok?.from?.address} vs ${expectedFrom(c.exp)}`],
        subject: [
          ok !== null && normalize(ok.subject) === normalize(expectedSubject(c.exp)),
          `${ok?.subject} vs ${expectedSubject(c.exp)}`,
        ],
        attachments: [
          ok !== null &&
            namesAgree(
              expectedAttachmentNames(c.exp),
              ok.attachments.map((a) => a.filename),
            ),
          `${ok?.attachments.map((a) => a.filename).join('|')} vs ${expectedAttachmentNames(c.exp).join('|')}`,
        ],
      };
      for (const field of Object.keys(rates) as Field[]) {
        if (EXCEPTIONS[c.file]?.field === field) continue;
        rates[field].total++;
        if (checks[field][0]) rates[field].agree++;
        else rates[field].misses.push(`${c.file}: ${checks[field][1]}`);
      }
    }
    const report = (Object.keys(rates) as Field[]).map((f) => {
      const r = rates[f];
      return `${f}: ${r.agree}/${r.total} = ${((100 * r.agree) / r.total).toFixed(1)}%${r.misses.length ? `\n    ${r.misses.join('\n    ')}` : ''}`;
    });
    console.log(
      `parser corpus agreement (${cases.length} mails, ${Object.keys(EXCEPTIONS).length} documented exceptions):\n  ${report.join('\n  ')}`,
    );
    for (const field of Object.keys(rates) as Field[]) {
      expect({ field, rate: rates[field].agree / rates[field].total >= THRESHOLD }).toEqual({ field, rate: true });
    }
  });
});
