/**
 * The new text of an inbound mail: its text without the quoted history, the reply header above it
 * and the signature, shown by the conversation page while the full text stays stored beside it.
 * Quote detection is `planer`'s (MIT, a port of Mailgun's talon): its line markers and its
 * `processMarkedLines`, chosen by measured accuracy on the labelled set test/fixtures/quotes (see
 * docs/conversations.md "The new text without the quotes" and BENCHMARKS.md). planer's own entry
 * point is not called: its splitter expressions are cubic on hostile lines (1 s for one 800-char
 * line of "Am Am Am"), so the lines are marked here with the same expressions, anchored (planer only
 * accepts a match at the start of the window anyway) and on lines cut to PROBE_LINE_CHARS, within
 * MAX_VISIBLE_INPUT_CHARS and MAX_VISIBLE_LINES. MailDesk adds what planer does not do and the set
 * needs: the "-- " signature, mobile signatures ("Sent from my iPhone"), reply headers planer does
 * not know (Russian) and ticket-system reply markers.
 * Runs in the parse worker (parse-mail.ts), never on the event loop.
 */
import planer from 'planer';
import planerRegexes from 'planer/lib/regexes.js';

/** Characters of text looked at (the first 256 KiB): a quote further down is left in. */
export const MAX_VISIBLE_INPUT_CHARS = 256 * 1024;
/** Lines looked at (planer's own limit). */
export const MAX_VISIBLE_LINES = 1000;
/** Characters of each line the quote and header expressions see (reply headers are shorter). */
const PROBE_LINE_CHARS = 200;
/** Lines planer looks at together for a reply header wrapped over several lines. */
const SPLITTER_WINDOW_LINES = 4;

/** planer's splitter expressions, anchored at the start of the window (one start, not one per character). */
const SPLITTERS = planerRegexes.SPLITTER_PATTERNS.map(
  (re) => new RegExp(`^(?:${re.source})`, re.flags.replace(/[gmy]/g, '')),
);
/**
 * planer's two "On <date>, <someone> wrote:" expressions stay quadratic on a window even anchored
 * (1.4 s for 1000 lines of "Am Am Am"): they run only on windows with one of their verbs, at most
 * MAX_WROTE_PROBES times per mail (a real mail has a handful of such lines).
 */
const WROTE_SPLITTERS = new Set(
  planerRegexes.SPLITTER_PATTERNS.flatMap((re, i) => (/wrote|schreef/.test(re.source) ? [i] : [])),
);
const WROTE_WORD = /wrote|sent|a écrit|napisał|schreef|verzond|geschreven|schrieb|skrev/i;
const MAX_WROTE_PROBES = 50;
/** planer's link normalisation with a bounded link length (its own scans to the next '>'). */
const LINK = /<(https?:\/\/[^>]{0,2000})>/g;

/** "-- " (RFC 3676) signature delimiter; also "--" alone, as clients that trim trailing spaces send it. */
const SIGNATURE_DELIMITER = /^-- ?$/;
/** A client's one-line signature: "Sent from my iPhone", "Get Outlook for iOS", their translations. */
const MOBILE_SIGNATURE =
  /^(?:Sent from my \S.{0,40}|Sent from (?:Mail|Outlook|Yahoo Mail) for \S.{0,30}|Get Outlook for (?:iOS|Android)\S{0,60}|Отправлено (?:с|из) .{1,40}|Von meinem .{1,40} gesendet|Envoyé de mon .{1,40}|Enviado desde mi .{1,40})$/i;
/** "##- Please type your reply above this line -##" and similar markers of ticket systems. */
const TICKET_MARKER = /^#{2,}-.{0,80}-#{2,}$/;
/** A reply-header verb at the end of a line ("wrote:", "написал(а):", "пишет:"...). */
const WROTE = /(?:wrote|schrieb|a écrit|escribió|scrisse|skrev|napisał|написал|написала|написал\(а\)|пишет)\s*:$/i;
/** A time or a year: a reply header has one. */
const DATE_OR_TIME = /\d{1,2}:\d{2}|\d{4}/;
/** First line of a header block of the quoted mail (Outlook, in several languages). */
const HEADER_FROM = /^\*?(?:From|От|Von|De|Fra|Från|Od|Van)\s?:\*?\s/i;
/** A later line of that block. */
const HEADER_SENT = /^\*?(?:Sent|Date|Отправлено|Дата|Gesendet|Datum|Envoyé|Sendt|Skickat|Wysłano|Verzonden)\s?:/i;

function isSeparator(line: string): boolean {
  const t = line.trim();
  return t.length >= 3 && /^[-_=*\s]+$/.test(t);
}

/** planer's markMessageLines on the probe lines, with the anchored splitters. */
function markLines(probe: string[]): string {
  const markers: string[] = [];
  let wroteProbes = 0;
  for (let i = 0; i < probe.length; i++) {
    const line = probe[i];
    if (line.trim() === '') markers[i] = 'e';
    else if (planerRegexes.QUOT_PATTERN.test(line)) markers[i] = 'm';
    else if (planerRegexes.FWD.test(line)) markers[i] = 'f';
    else {
      const window = probe.slice(i, i + SPLITTER_WINDOW_LINES).join('\n');
      let splitter: RegExpExecArray | null = null;
      const wrote = wroteProbes < MAX_WROTE_PROBES && WROTE_WORD.test(window);
      if (wrote) wroteProbes++;
      for (let k = 0; k < SPLITTERS.length && !splitter; k++)
        if (wrote || !WROTE_SPLITTERS.has(k)) splitter = SPLITTERS[k].exec(window);
      if (splitter) {
        const count = splitter[0].split('\n').length;
        for (let j = 0; j < count; j++) markers[i + j] = 's';
        i += count - 1;
      } else markers[i] = 't';
    }
  }
  return markers.slice(0, probe.length).join('');
}

/** Index of the first line that starts what MailDesk cuts itself (signature, header planer misses), or -1. */
function ownCut(probe: string[]): number {
  for (let i = 1; i < probe.length; i++) {
    const line = probe[i].trim();
    if (SIGNATURE_DELIMITER.test(probe[i]) || MOBILE_SIGNATURE.test(line) || TICKET_MARKER.test(line)) return i;
    if (line.endsWith(':') && DATE_OR_TIME.test(line) && (line.includes('@') || WROTE.test(line))) {
      let next = i + 1;
      while (next < probe.length && next <= i + 2 && probe[next].trim() === '') next++;
      // Only a trailing quote: a header above an inline reply (quote, answer, quote...) stays.
      if (next < probe.length && probe.slice(next).every((l) => l.startsWith('>') || l.trim() === '')) return i;
    }
    if (HEADER_FROM.test(line) && probe.slice(i + 1, i + 4).some((l) => HEADER_SENT.test(l.trim()))) return i;
  }
  return -1;
}

/** Whitespace-normalised form, to tell whether anything was cut. */
function normalised(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The new text of a mail whose text (for an HTML-only mail, the text the parser derives from the
 * HTML) is `text`: without the quoted history and the signature. null when it is the whole text
 * (nothing to cut: the row stores null to save space) and when the cut would leave nothing (the
 * whole mail is a quote: the whole text is shown, never an empty message). Bounded work: the first
 * MAX_VISIBLE_INPUT_CHARS and MAX_VISIBLE_LINES lines are looked at; lines past them are kept only
 * when nothing was cut. `html` is not used for now (the text derived from it is: planer's HTML mode
 * needs a DOM and was not measured); it is in the signature so that callers need not change.
 */
export function visibleText(text: string, html?: string | null): string | null {
  void html;
  if (!text || !text.trim()) return null;
  const head = text.length > MAX_VISIBLE_INPUT_CHARS ? text.slice(0, MAX_VISIBLE_INPUT_CHARS) : text;
  const allLines = head.split(/\r?\n/, MAX_VISIBLE_LINES + 1);
  const truncated = head.length < text.length || allLines.length > MAX_VISIBLE_LINES;
  let lines = allLines.slice(0, MAX_VISIBLE_LINES);
  let probe = lines
    .map((l) => (l.length > PROBE_LINE_CHARS ? l.slice(0, PROBE_LINE_CHARS) : l).replace(/^[ \t]+/, ''))
    .join('\n')
    .replace(LINK, '@@$1@@')
    .split('\n');
  let cut = false;
  const own = ownCut(probe);
  if (own > 0) {
    let end = own;
    while (end > 0 && (probe[end - 1].trim() === '' || isSeparator(probe[end - 1]))) end--;
    lines = lines.slice(0, end);
    probe = probe.slice(0, end);
    cut = true;
  }
  const flags: { wereLinesDeleted?: boolean; firstLine?: number; lastLine?: number } = {};
  planer.processMarkedLines(probe, markLines(probe), flags);
  if (flags.wereLinesDeleted && flags.firstLine !== undefined && flags.lastLine !== undefined) {
    const tail = flags.lastLine >= lines.length;
    // A quote in the middle of a mail longer than looked at: what follows it is not known.
    if (!tail && truncated && !cut) return null;
    lines = [...lines.slice(0, flags.firstLine), ...lines.slice(flags.lastLine)];
    cut = true;
  }
  if (!cut) return null;
  while (lines.length && (lines[lines.length - 1].trim() === '' || isSeparator(lines[lines.length - 1]))) lines.pop();
  const result = lines.join('\n').trim();
  if (!result || normalised(result) === normalised(text)) return null;
  return result;
}
