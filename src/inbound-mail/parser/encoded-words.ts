import { decodeUnknown, detectCharset, isAscii, isUtf8, resolveCharset, textPlausibility } from './charset';
import * as iconv from 'iconv-lite';
import { MAX_ENCODED_WORDS_PER_HEADER } from './limits';

/** An RFC 2047 encoded word, matched in a header held as a latin1 ("binary") string, one char per byte. */
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

/** Charsets mailparser (libmime) decodes right by itself; encoded words in any other one are rewritten. */
const LEFT_TO_MAILPARSER = /^(utf-?8|us-ascii|iso-2022-jp(-\d)?)$/i;

interface EncodedWord {
  start: number;
  end: number;
  charset: string;
  bytes: Buffer;
  raw8bit: boolean;
}

/** Bytes of one encoded word's text (`_` is a space in Q; raw 8-bit bytes are kept as they are). */
function wordBytes(encoding: string, text: string): Buffer {
  if (encoding === 'b' || encoding === 'B') return Buffer.from(text, 'base64');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) bytes.push(0x20);
    else if (c === 0x3d && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * Decodes the bytes of adjacent encoded words that share a charset label, the way a person would
 * read them: UTF-7 and labels iconv-lite knows under another name are decoded, an unknown label or
 * bytes invalid in the declared charset fall back to detection, and UTF-8 mislabelled as Latin-1 is
 * read as UTF-8.
 */
export function decodeWordBytes(bytes: Buffer, label: string, hints: readonly string[] = []): string {
  const charset = resolveCharset(label);
  if (isAscii(bytes)) return charset === 'utf-7' ? iconv.decode(bytes, 'utf-7') : bytes.toString('latin1');
  if (!charset) return decodeUnknown(bytes, hints);
  if (charset === 'utf-8')
    return isUtf8(bytes) ? bytes.toString('utf8') : iconv.decode(bytes, detectCharset(bytes, hints));
  if (isUtf8(bytes) && charset === 'windows-1252') return bytes.toString('utf8');
  const decoded = iconv.decode(bytes, charset);
  if (decoded.includes('\ufffd') || textPlausibility(decoded) < 0) {
    const guess = iconv.decode(bytes, detectCharset(bytes, [charset, ...hints]));
    if (textPlausibility(guess) > textPlausibility(decoded)) return guess;
  }
  return decoded;
}

/** A line break that starts a new header field (the next line does not begin with whitespace). */
const NEW_FIELD = /\n[^ \t]/;

/**
 * The encoded words of a header value or block, at most MAX_ENCODED_WORDS_PER_HEADER per header
 * field: the words past it are not returned, so they stay in the header as written.
 */
function findWords(binary: string): EncodedWord[] {
  const words: EncodedWord[] = [];
  let inField = 0;
  let pos = 0;
  ENCODED_WORD.lastIndex = 0;
  for (let m = ENCODED_WORD.exec(binary); m; m = ENCODED_WORD.exec(binary)) {
    if (NEW_FIELD.test(binary.slice(pos, m.index))) inField = 0;
    pos = m.index + m[0].length;
    if (++inField > MAX_ENCODED_WORDS_PER_HEADER) continue;
    words.push({
      start: m.index,
      end: m.index + m[0].length,
      charset: m[1],
      bytes: wordBytes(m[2], m[3]),
      raw8bit: /[\x80-\xff]/.test(m[3]),
    });
  }
  return words;
}

/** Groups words separated only by whitespace (RFC 2047 drops that whitespace). */
function runsOf(binary: string, words: EncodedWord[]): EncodedWord[][] {
  const runs: EncodedWord[][] = [];
  for (const word of words) {
    const last = runs[runs.length - 1];
    const prev = last?.[last.length - 1];
    if (prev && /^[ \t\r\n]*$/.test(binary.slice(prev.end, word.start))) last.push(word);
    else runs.push([word]);
  }
  return runs;
}

function decodeRun(run: EncodedWord[], hints: readonly string[]): string {
  let text = '';
  let i = 0;
  while (i < run.length) {
    let j = i + 1;
    while (j < run.length && run[j].charset.toLowerCase() === run[i].charset.toLowerCase()) j++;
    text += decodeWordBytes(Buffer.concat(run.slice(i, j).map((w) => w.bytes)), run[i].charset, hints);
    i = j;
  }
  return text;
}

function needsRewrite(word: EncodedWord): boolean {
  if (word.raw8bit || !LEFT_TO_MAILPARSER.test(word.charset)) return true;
  return /^utf-?8$/i.test(word.charset) && !isUtf8(word.bytes);
}

/**
 * Rewrites the encoded words of a header block (latin1 string of its bytes) that mailparser would
 * get wrong into `=?UTF-8?B?...?=` words; returns null when nothing needed rewriting. Words past
 * MAX_ENCODED_WORDS_PER_HEADER in one field are left as written (mailparser decodes them as declared).
 */
export function rewriteEncodedWords(binary: string, hints: readonly string[] = []): string | null {
  if (!binary.includes('=?')) return null;
  const words = findWords(binary);
  if (!words.some(needsRewrite)) return null;
  let out = '';
  let pos = 0;
  for (const run of runsOf(binary, words)) {
    if (!run.some(needsRewrite)) continue;
    const text = decodeRun(run, hints);
    out += binary.slice(pos, run[0].start) + `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
    pos = run[run.length - 1].end;
  }
  return out + binary.slice(pos);
}

/**
 * Decodes a header value for display: encoded words decoded, whitespace between adjacent words
 * dropped. `binary` says the value is a latin1 string of raw bytes, whose 8-bit text is then read
 * as UTF-8 or in the detected charset; otherwise the plain text is kept as it is. Words past
 * MAX_ENCODED_WORDS_PER_HEADER are kept as raw text.
 */
export function decodeHeaderText(value: string, binary = true, hints: readonly string[] = []): string {
  const words = findWords(value);
  let out = '';
  let pos = 0;
  const plain = (s: string): string => (binary ? decodeUnknown(Buffer.from(s, 'latin1'), hints) : s);
  for (const run of runsOf(value, words)) {
    out += plain(value.slice(pos, run[0].start)) + decodeRun(run, hints);
    pos = run[run.length - 1].end;
  }
  return out + plain(value.slice(pos));
}
