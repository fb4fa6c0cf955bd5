import * as iconv from 'iconv-lite';
import { detectCharset, isAscii, isUtf8, resolveCharset } from './charset';
import { CharsetHints } from './charset-hints';
import { rewriteEncodedWords } from './encoded-words';
import { MimeBlock, walkMime } from './mime-walk';

/** Bytes of a body sampled for charset detection. */
const DETECTION_SAMPLE = 64 * 1024;
/** Headers whose raw text a UTF-7 mail may carry undeclared (`Subject: Fr+APY-sche`). */
const PHRASE_HEADER = /^(subject|from|to|cc|reply-to|sender)$/i;

/** A raw mail made readable for mailparser, and its top header block as text. */
export interface RepairedMail {
  raw: Buffer;
  /** The original top header block, 8-bit text decoded (UTF-8 or the detected charset), encoded words kept. */
  topHeader: string;
}

interface Edit {
  start: number;
  end: number;
  bytes: Buffer;
}

/** Decodes a body's transfer encoding (base64, quoted-printable; anything else is taken as is). */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (encoding !== 'quoted-printable') return body;
  const text = body.toString('latin1').replace(/=\r?\n/g, '');
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

/**
 * Charsets the mail declares somewhere (bodies and encoded words): hints for its undeclared bytes,
 * each charset once and at most MAX_CHARSET_HINTS (see CharsetHints).
 */
function declaredCharsets(blocks: MimeBlock[], s: string): string[] {
  const found = new CharsetHints();
  for (const block of blocks) {
    const cs = resolveCharset(block.params.charset);
    if (cs && cs !== 'utf-8' && cs !== 'windows-1252' && cs !== 'utf-7') found.add(cs);
    const header = s.slice(block.headerStart, block.headerEnd);
    for (const m of header.matchAll(/=\?([^?\s*]+)[^?\s]*\?[bBqQ]\?/g)) {
      const word = resolveCharset(m[1]);
      if (word && word !== 'utf-8' && word !== 'utf-7' && word !== 'windows-1252') found.add(word);
    }
  }
  for (const block of blocks) if (resolveCharset(block.params.charset) === 'windows-1252') found.add('windows-1252');
  return found.list();
}

/**
 * The charset a text part needs declared, from its declared label and its decoded body; null when
 * mailparser reads it right as it is (it reads a part without charset as UTF-8).
 */
export function bodyCharsetFix(body: Buffer, label: string | undefined, hints: readonly string[]): string | null {
  const declared = (label ?? '').trim().toLowerCase();
  if (isAscii(body)) return null;
  if (!declared || declared === 'us-ascii' || declared === 'ascii') {
    if (isUtf8(body)) return declared ? 'utf-8' : null;
    return detectCharset(body.subarray(0, DETECTION_SAMPLE), hints);
  }
  const resolved = resolveCharset(declared);
  if (resolved === 'utf-8') {
    if (isUtf8(body)) return null;
    const text = body.subarray(0, DETECTION_SAMPLE).toString('utf8');
    const replaced = text.split('\ufffd').length - 1;
    const nonAscii = text.replace(/\p{ASCII}/gu, '').length;
    return replaced < nonAscii * 0.2 ? null : detectCharset(body.subarray(0, DETECTION_SAMPLE), hints);
  }
  if (resolved === 'windows-1252' && declared !== 'windows-1252') {
    if (isUtf8(body)) return 'utf-8';
    return body.some((b) => b >= 0x80 && b < 0xa0) ? 'windows-1252' : null;
  }
  return null;
}

/** Sets (or adds) `charset=` on the Content-Type field of a header block held as a JS string. */
function withCharset(header: string, charset: string): string {
  const typeField = /^content-type:[^\n]*(?:\n[ \t][^\n]*)*/im;
  const match = typeField.exec(header);
  if (!match) return `Content-Type: text/plain; charset=${charset}\r\n` + header;
  let field = match[0].replace(/\r$/, '');
  if (/charset\s*=/i.test(field)) field = field.replace(/charset\s*=\s*("[^"]*"|[^;\s]*)/i, `charset=${charset}`);
  else field = `${field}; charset=${charset}`;
  return header.slice(0, match.index) + field + header.slice(match.index + match[0].replace(/\r$/, '').length);
}

/** Turns an `inline` disposition into `attachment`, or adds one. */
function asAttachment(header: string): string {
  if (/^content-disposition:/im.test(header))
    return header.replace(/^(content-disposition:\s*)inline\b/im, '$1attachment');
  return 'Content-Disposition: attachment\r\n' + header;
}

/** Replaces undeclared UTF-7 runs in the phrase headers of a mail whose body is UTF-7. */
function decodeRawUtf7(header: string): string {
  return header.replace(/^([A-Za-z-]+)(:[^\n]*(?:\n[ \t][^\n]*)*)/gm, (line: string, name: string) => {
    if (!PHRASE_HEADER.test(name)) return line;
    return line.replace(/\+[A-Za-z0-9+/]{2,}-?/g, (run) => {
      const decoded = iconv.decode(Buffer.from(run, 'latin1'), 'utf-7');
      return /^[\u00a0-\uffff]+$/.test(decoded) && !/[\ufffd]/.test(decoded) ? decoded : run;
    });
  });
}

/** A named text part after the first one of a multipart/mixed is a file the sender attached (RFC 8621 4.1.4). */
function isNamedTextFile(block: MimeBlock): boolean {
  return (
    (block.contentType === 'text/plain' || block.contentType === 'text/html') &&
    block.filename !== null &&
    block.index > 0 &&
    block.disposition !== 'attachment' &&
    block.parentType !== null &&
    block.parentType.startsWith('multipart/') &&
    !['multipart/alternative', 'multipart/related'].includes(block.parentType)
  );
}

/**
 * Rewrites what mailparser would misread in a raw mail, leaving everything else byte for byte:
 * header blocks with undeclared 8-bit text are transcoded to UTF-8 (charset detected, with the
 * mail's declared charsets as hints), encoded words in UTF-7, unknown or wrong charsets become
 * UTF-8 words, text parts without a (right) charset get one declared, UTF-7 text/plain bodies are
 * transcoded, digest parts get their implicit message/rfc822 type and named inline text files are
 * marked as attachments. Returns the input itself when nothing needed fixing.
 */
export function repairRawMail(raw: Buffer): RepairedMail {
  const s = raw.toString('latin1');
  const clean = isUtf8(raw) && !/=\?(?!utf-?8\?|us-ascii\?)[^?\s]+\?[bBqQ]\?/i.test(s);
  const blocks = walkMime(s);
  const hints = clean ? [] : declaredCharsets(blocks, s);
  const utf7Mail = blocks.some((b) => resolveCharset(b.params.charset) === 'utf-7');
  const edits: Edit[] = [];
  const top = raw.subarray(blocks[0].headerStart, blocks[0].headerEnd);
  const topHeader = clean || isUtf8(top) ? top.toString('utf8') : iconv.decode(top, detectCharset(top, hints));
  for (const block of blocks) {
    const binaryHeader = s.slice(block.headerStart, block.headerEnd);
    let header: string | null = null;
    if (!clean) {
      const rewritten = rewriteEncodedWords(binaryHeader, hints);
      const bytes = Buffer.from(rewritten ?? binaryHeader, 'latin1');
      if (!isUtf8(bytes)) {
        const own = resolveCharset(block.params.charset);
        const ownHints = own && own !== 'utf-8' && own !== 'utf-7' ? [own, ...hints] : hints;
        header = iconv.decode(bytes, detectCharset(bytes, ownHints));
      } else if (rewritten !== null) header = bytes.toString('utf8');
    }
    if (utf7Mail && /\+[A-Za-z0-9+/]{2,}-/.test(binaryHeader)) header = decodeRawUtf7(header ?? binaryHeader);
    if (block.contentTypeDefaulted && block.contentType === 'message/rfc822') {
      header = 'Content-Type: message/rfc822\r\n' + (header ?? Buffer.from(binaryHeader, 'latin1').toString('utf8'));
    }
    if (isNamedTextFile(block)) header = asAttachment(header ?? Buffer.from(binaryHeader, 'latin1').toString('utf8'));
    if (block.contentType.startsWith('text/') && block.bodyEnd > block.bodyStart) {
      const declared = resolveCharset(block.params.charset);
      const body = decodeTransfer(raw.subarray(block.bodyStart, block.bodyEnd), block.transferEncoding);
      if (declared === 'utf-7' && block.contentType === 'text/plain') {
        const text = iconv.decode(body, 'utf-7');
        header = withCharset(header ?? Buffer.from(binaryHeader, 'latin1').toString('utf8'), 'utf-8');
        header = header.replace(/^content-transfer-encoding:[^\n]*(?:\n[ \t][^\n]*)*\n?/gim, '');
        header = 'Content-Transfer-Encoding: base64\r\n' + header;
        const b64 = Buffer.from(text, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
        edits.push({ start: block.bodyStart, end: block.bodyEnd, bytes: Buffer.from(b64, 'latin1') });
      } else if (
        !clean ||
        block.transferEncoding === 'base64' ||
        block.transferEncoding === 'quoted-printable' ||
        declared === 'windows-1252'
      ) {
        const fix = bodyCharsetFix(body, block.params.charset, hints);
        if (fix) header = withCharset(header ?? Buffer.from(binaryHeader, 'latin1').toString('utf8'), fix);
      }
    }
    if (header !== null)
      edits.push({ start: block.headerStart, end: block.headerEnd, bytes: Buffer.from(header, 'utf8') });
  }
  if (!edits.length) return { raw, topHeader };
  edits.sort((a, b) => a.start - b.start);
  const chunks: Buffer[] = [];
  let pos = 0;
  for (const edit of edits) {
    if (edit.start < pos) continue;
    chunks.push(raw.subarray(pos, edit.start), edit.bytes);
    pos = edit.end;
  }
  chunks.push(raw.subarray(pos));
  return { raw: Buffer.concat(chunks), topHeader };
}
