/**
 * The labelled set of inbound mails for quote stripping (test/fixtures/quotes/labels.json) and its
 * scores: used by bench/quote-stripping.ts (the comparison of libraries) and by the unit test of
 * src/inbound-mail/parser/visible-text.ts (the chosen one keeps its measured accuracy).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMail } from '../../src/inbound-mail/parser/parse-mail';

/** Folder of the set (from the repository root or a compiled copy under node_modules/.cache). */
export const QUOTES_DIR = ((): string => {
  let d = path.resolve(typeof __dirname === 'string' ? __dirname : '.');
  while (
    d !== path.dirname(d) &&
    (d.includes(`${path.sep}node_modules`) || !fs.existsSync(path.join(d, 'package.json')))
  )
    d = path.dirname(d);
  return path.join(d, 'test', 'fixtures', 'quotes');
})();

/** One labelled mail: what the parser makes of it (text, html) and the new text written by hand. */
export interface QuoteCase {
  name: string;
  client: string;
  source: string;
  text: string;
  html: string | null;
  expected: string;
}

interface LabelEntry {
  name: string;
  client: string;
  source: string;
  text?: string;
  html?: string;
  file?: string;
  /** The new text written by hand; absent with `whole`. */
  expected?: string;
  /** The new text is the whole text (no quote, an inline reply, a forward). */
  whole?: boolean;
}

/** A one-part mail of the given type, so that the text goes through parseMail as in production. */
function onePart(type: 'plain' | 'html', body: string): Buffer {
  return Buffer.from(
    `From: a@customer.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/${type}; charset=utf-8\r\n` +
      `Content-Transfer-Encoding: 8bit\r\n\r\n${body}`,
    'utf8',
  );
}

/** Every case of the set, each parsed by parseMail (so text and html are what the pipeline sees). */
export async function loadQuoteSet(): Promise<QuoteCase[]> {
  const labels = JSON.parse(fs.readFileSync(path.join(QUOTES_DIR, 'labels.json'), 'utf8')) as {
    cases: LabelEntry[];
  };
  const out: QuoteCase[] = [];
  for (const c of labels.cases) {
    let raw: Buffer;
    if (c.file?.endsWith('.eml')) raw = fs.readFileSync(path.join(QUOTES_DIR, c.file));
    else if (c.file) raw = onePart('plain', fs.readFileSync(path.join(QUOTES_DIR, c.file), 'utf8'));
    else if (c.html) raw = onePart('html', c.html);
    else raw = onePart('plain', c.text ?? '');
    const mail = await parseMail(raw);
    out.push({
      name: c.name,
      client: c.client,
      source: c.source,
      text: mail.text,
      html: mail.html,
      expected: c.whole ? mail.text : (c.expected ?? ''),
    });
  }
  return out;
}

/** Whitespace-normalised form: runs of white space (line ends too) as one space, trimmed. */
export function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Token-level F1 of a result against the expected text (1 = the same words, as a multiset). */
export function tokenF1(got: string, expected: string): number {
  const a = normalise(got).split(' ').filter(Boolean);
  const b = normalise(expected).split(' ').filter(Boolean);
  if (a.length === 0 && b.length === 0) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const t of b) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of a) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      common++;
      counts.set(t, n - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / a.length;
  const recall = common / b.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Share of the expected words (as a multiset) that the result has: below 1, the result lost new text. */
export function tokenRecall(got: string, expected: string): number {
  const b = normalise(expected).split(' ').filter(Boolean);
  if (b.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const t of normalise(got).split(' ').filter(Boolean)) counts.set(t, (counts.get(t) ?? 0) + 1);
  let found = 0;
  for (const t of b) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      found++;
      counts.set(t, n - 1);
    }
  }
  return found / b.length;
}

/**
 * Accuracy of a stripper on the set: share of exact matches (normalised), mean token F1, and the
 * number of cases where it lost words of the new text (worse than leaving a quote in).
 */
export interface QuoteScore {
  exact: number;
  f1: number;
  lost: number;
  failures: Array<{ name: string; client: string; got: string; expected: string; f1: number }>;
}

/** Scores `strip` (the new text of a case, as the app would show it) on the cases. */
export function scoreQuoteSet(cases: QuoteCase[], strip: (c: QuoteCase) => string): QuoteScore {
  let exact = 0;
  let f1 = 0;
  let lost = 0;
  const failures: QuoteScore['failures'] = [];
  for (const c of cases) {
    const got = strip(c);
    const same = normalise(got) === normalise(c.expected);
    const score = tokenF1(got, c.expected);
    if (tokenRecall(got, c.expected) < 1) lost++;
    if (same) exact++;
    else failures.push({ name: c.name, client: c.client, got, expected: c.expected, f1: score });
    f1 += score;
  }
  return { exact: exact / cases.length, f1: f1 / cases.length, lost, failures };
}
