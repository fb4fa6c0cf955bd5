import { MAX_HEADER_BYTES, MAX_HEADER_FIELDS } from './limits';
import { MailParseError } from './mail-parse-error';

/**
 * Checks the top header block of a raw mail (up to its first blank line) against MAX_HEADER_BYTES
 * and MAX_HEADER_FIELDS before any other work; throws a `header-too-large` or `too-many-headers`
 * MailParseError past them. Looks at no more than MAX_HEADER_BYTES + 4 bytes.
 */
export function checkTopHeader(raw: Buffer): void {
  const scan = raw.subarray(0, MAX_HEADER_BYTES + 4);
  // A mail that starts with its blank line has an empty header block.
  let end = scan[0] === 0x0a || (scan[0] === 0x0d && scan[1] === 0x0a) ? 0 : scan.length;
  for (const blank of ['\r\n\r\n', '\n\n']) {
    const at = scan.indexOf(blank);
    if (at >= 0 && at < end) end = at;
  }
  if (end > MAX_HEADER_BYTES) {
    throw new MailParseError(
      'header-too-large',
      `header too large: the top header block is over ${MAX_HEADER_BYTES} bytes`,
    );
  }
  const head = raw.subarray(0, end);
  let fields = end > 0 && head[0] !== 0x20 && head[0] !== 0x09 ? 1 : 0;
  for (let i = head.indexOf(0x0a); i >= 0 && i + 1 < end; i = head.indexOf(0x0a, i + 1)) {
    const next = head[i + 1];
    if (next !== 0x20 && next !== 0x09) fields++;
  }
  if (fields > MAX_HEADER_FIELDS) {
    throw new MailParseError(
      'too-many-headers',
      `too many headers: ${fields} fields in the top header block (limit ${MAX_HEADER_FIELDS})`,
    );
  }
}
