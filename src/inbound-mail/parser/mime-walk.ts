import { firstField, HeaderField, parseHeaderFields, parseStructured } from './header-fields';
import { MAX_MIME_PARTS } from './limits';

/** How deep the walk follows nested multiparts; deeper parts are left to mailparser as they are. */
export const MAX_WALK_DEPTH = 64;
/** How many parts the walk looks at at most (mailparser rejects a mail with more). */
export const MAX_WALK_PARTS = MAX_MIME_PARTS;

/** One MIME entity of a raw mail: where its header and body are, and what its header declares. */
export interface MimeBlock {
  /** Byte offsets in the raw mail (equal to string offsets of its latin1 string). */
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  depth: number;
  /** Index among its siblings (0 for the first part of a multipart and for the top entity). */
  index: number;
  parentType: string | null;
  fields: HeaderField[];
  /** Lower-cased content type, defaulted as RFC 2045/2046 say (message/rfc822 inside a digest). */
  contentType: string;
  /** True when the block has no Content-Type header of its own. */
  contentTypeDefaulted: boolean;
  params: Record<string, string>;
  transferEncoding: string;
  disposition: string;
  filename: string | null;
}

interface Region {
  start: number;
  end: number;
  depth: number;
  index: number;
  parentType: string | null;
}

/** Finds where the header of a region ends: the offset of its blank line and the body start. */
function splitHeader(s: string, start: number, end: number): { headerEnd: number; bodyStart: number } {
  if (s.startsWith('\r\n', start)) return { headerEnd: start, bodyStart: start + 2 };
  if (s[start] === '\n') return { headerEnd: start, bodyStart: start + 1 };
  let pos = start;
  while (pos < end) {
    const nl = s.indexOf('\n', pos);
    if (nl < 0 || nl >= end) return { headerEnd: end, bodyStart: end };
    const next = nl + 1;
    if (s[next] === '\n') return { headerEnd: next, bodyStart: next + 1 };
    if (s[next] === '\r' && s[next + 1] === '\n') return { headerEnd: next, bodyStart: next + 2 };
    pos = next;
  }
  return { headerEnd: end, bodyStart: end };
}

/** Splits a multipart body into its parts' regions by the boundary's delimiter lines. */
function splitMultipart(s: string, start: number, end: number, boundary: string): Array<[number, number]> {
  const delimiter = '--' + boundary;
  const parts: Array<[number, number]> = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const at = s.indexOf(delimiter, pos);
    if (at < 0 || at >= end) break;
    pos = at + delimiter.length;
    if (at !== start && s[at - 1] !== '\n') continue;
    const after = s.slice(pos, pos + 2);
    const closing = after === '--';
    const lineEnd = s.indexOf('\n', pos);
    const rest = s.slice(pos + (closing ? 2 : 0), lineEnd < 0 || lineEnd > end ? end : lineEnd);
    if (!/^[ \t\r]*$/.test(rest)) continue;
    if (partStart >= 0) {
      let partEnd = at > start && s[at - 1] === '\n' ? at - 1 : at;
      if (partEnd > partStart && s[partEnd - 1] === '\r') partEnd--;
      parts.push([partStart, Math.max(partStart, partEnd)]);
    }
    if (closing) return parts;
    partStart = lineEnd < 0 || lineEnd >= end ? end : lineEnd + 1;
    pos = partStart;
  }
  if (partStart >= 0 && partStart < end) parts.push([partStart, end]);
  return parts;
}

/**
 * Walks the MIME tree of a raw mail (as a latin1 string, one char per byte) without decoding
 * anything: the top entity, every part of every multipart, and the header of an inline
 * message/rfc822 part. Linear in the size of the mail, bounded in depth and part count.
 */
export function walkMime(s: string): MimeBlock[] {
  const blocks: MimeBlock[] = [];
  const stack: Region[] = [{ start: 0, end: s.length, depth: 0, index: 0, parentType: null }];
  while (stack.length && blocks.length < MAX_WALK_PARTS) {
    const region = stack.pop() as Region;
    const { headerEnd, bodyStart } = splitHeader(s, region.start, region.end);
    const fields = parseHeaderFields(s.slice(region.start, headerEnd));
    const typeHeader = firstField(fields, 'content-type');
    const type = parseStructured(typeHeader);
    const defaultType = region.parentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    const contentType = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type.value) ? type.value : defaultType;
    const disposition = parseStructured(firstField(fields, 'content-disposition'));
    const block: MimeBlock = {
      headerStart: region.start,
      headerEnd,
      bodyStart,
      bodyEnd: region.end,
      depth: region.depth,
      index: region.index,
      parentType: region.parentType,
      fields,
      contentType,
      contentTypeDefaulted: typeHeader === null,
      params: type.params,
      transferEncoding: (firstField(fields, 'content-transfer-encoding') ?? '')
        .toLowerCase()
        .replace(/\(.*\)/, '')
        .trim(),
      disposition: disposition.value,
      filename: disposition.params.filename || type.params.name || null,
    };
    blocks.push(block);
    if (region.depth >= MAX_WALK_DEPTH) continue;
    if (contentType.startsWith('multipart/') && type.params.boundary) {
      const parts = splitMultipart(s, bodyStart, region.end, type.params.boundary);
      for (let i = parts.length - 1; i >= 0; i--) {
        stack.push({
          start: parts[i][0],
          end: parts[i][1],
          depth: region.depth + 1,
          index: i,
          parentType: contentType,
        });
      }
    } else if (
      contentType === 'message/rfc822' &&
      block.disposition === 'inline' &&
      ['', '7bit', '8bit', 'binary'].includes(block.transferEncoding)
    ) {
      stack.push({ start: bodyStart, end: region.end, depth: region.depth + 1, index: 0, parentType: contentType });
    }
  }
  return blocks;
}
