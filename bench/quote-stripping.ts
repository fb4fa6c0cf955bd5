/**
 * `npm run bench:quotes`: compares quote-stripping libraries on the labelled set of inbound mails
 * (test/fixtures/quotes/labels.json, loaded by test/setup/quote-set.ts): for each candidate the
 * share of exact matches after whitespace normalisation, the mean token-level F1, the time per mail
 * and the failed cases. Every candidate gets the mail's text as the parser makes it (for HTML-only
 * mails, the text derived from the HTML) and the same fallback as the app (an empty result shows
 * the whole text). Writes bench/results/quote-stripping-<date>.json. The figures are in
 * BENCHMARKS.md and docs/conversations.md ("The new text without the quotes").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { visibleText } from '../src/inbound-mail/parser/visible-text';
import { loadQuoteSet, QUOTES_DIR, type QuoteCase, scoreQuoteSet } from '../test/setup/quote-set';

const load = createRequire(path.join(QUOTES_DIR, '..', '..', '..', 'package.json'));

type Strip = (text: string, html: string | null) => string;

interface Candidate {
  name: string;
  version: string;
  strip: Strip;
}

function version(pkg: string): string {
  const file = path.join(path.resolve(QUOTES_DIR, '..', '..', '..'), 'node_modules', pkg, 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The candidates: each npm package in its plain-text mode, then our wrapper of the chosen one. */
function candidates(): Candidate[] {
  const erp = load('email-reply-parser') as { default?: unknown };
  const EmailReplyParser = (erp.default ?? erp) as new () => { read(t: string): { getVisibleText(): string } };
  const planer = load('planer') as { extractFrom(t: string, type: string): string };
  const nerp = load('node-email-reply-parser') as (t: string, visibleOnly: boolean) => string;
  const emailreplyparser = (load('emailreplyparser') as { EmailReplyParser: { parse_reply(t: string): string } })
    .EmailReplyParser;
  const parseReply = load('parse-reply') as (t: string) => string;
  const talon = load('talonjs') as { quotations: { extractFromPlain(t: string): { body: string } } };
  return [
    {
      name: 'email-reply-parser',
      version: version('email-reply-parser'),
      strip: (t) => new EmailReplyParser().read(t).getVisibleText(),
    },
    { name: 'planer (text/plain)', version: version('planer'), strip: (t) => planer.extractFrom(t, 'text/plain') },
    { name: 'node-email-reply-parser', version: version('node-email-reply-parser'), strip: (t) => nerp(t, true) },
    { name: 'emailreplyparser', version: version('emailreplyparser'), strip: (t) => emailreplyparser.parse_reply(t) },
    { name: 'parse-reply', version: version('parse-reply'), strip: (t) => parseReply(t) },
    {
      name: 'talonjs (extractFromPlain)',
      version: version('talonjs'),
      strip: (t) => talon.quotations.extractFromPlain(t).body,
    },
    { name: 'visibleText (MailDesk wrapper)', version: '-', strip: (t, h) => visibleText(t, h) ?? t },
  ];
}

/** One candidate's result for a case, with the app's fallback (empty or failing: the whole text). */
function run(c: Candidate, q: QuoteCase): { out: string; error?: string } {
  try {
    const out = c.strip(q.text, q.html);
    return { out: typeof out === 'string' && out.trim() ? out : q.text };
  } catch (e) {
    return { out: q.text, error: (e as Error).message };
  }
}

async function main(): Promise<void> {
  const cases = await loadQuoteSet();
  const rows = [];
  for (const c of candidates()) {
    const errors: string[] = [];
    const outputs = new Map<string, string>();
    const rounds = 20;
    const started = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++)
      for (const q of cases) {
        const { out, error } = run(c, q);
        if (r === 0) {
          outputs.set(q.name, out);
          if (error) errors.push(`${q.name}: ${error}`);
        }
      }
    const msPerMail = Number(process.hrtime.bigint() - started) / 1e6 / (rounds * cases.length);
    const score = scoreQuoteSet(cases, (q) => outputs.get(q.name) ?? q.text);
    // The fixtures copied from planer's and parse-reply's tests favour those; the mails written for MailDesk do not.
    const own = scoreQuoteSet(
      cases.filter((q) => q.source.startsWith('written for MailDesk')),
      (q) => outputs.get(q.name) ?? q.text,
    );
    rows.push({
      candidate: c.name,
      version: c.version,
      exact: score.exact,
      f1: score.f1,
      exactOwn: own.exact,
      lost: score.lost,
      msPerMail,
      errors,
      failures: score.failures,
    });
  }
  console.log(`quote stripping on ${cases.length} labelled mails (test/fixtures/quotes)`);
  const ownCount = cases.filter((q) => q.source.startsWith('written for MailDesk')).length;
  console.log(
    `| candidate | version | exact | token F1 | exact on the ${ownCount} MailDesk-written | lost new text | ms/mail | failed cases |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.candidate} | ${r.version} | ${(r.exact * 100).toFixed(1)} % | ${r.f1.toFixed(3)} | ${(r.exactOwn * 100).toFixed(1)} % | ${r.lost} | ${r.msPerMail.toFixed(3)} | ${r.failures.length}${r.errors.length ? ` (${r.errors.length} threw)` : ''} |`,
    );
  for (const r of rows) console.log(`${r.candidate} failures: ${r.failures.map((f) => f.name).join(', ')}`);
  const root = path.resolve(QUOTES_DIR, '..', '..', '..');
  const file = path.join(root, 'bench', 'results', `quote-stripping-${new Date().toISOString().slice(0, 10)}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cases: cases.length, rows }, null, 2) +
      '\n',
  );
  console.log(`written ${path.relative(root, file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
