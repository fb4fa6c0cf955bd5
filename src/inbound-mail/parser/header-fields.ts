/** One header field: name lower-cased, value unfolded (folding line breaks removed) and trimmed. */
export interface HeaderField {
  name: string;
  value: string;
}

/** A Content-Type or Content-Disposition value split into its lower-cased token and its parameters. */
export interface StructuredValue {
  value: string;
  params: Record<string, string>;
}

/** The longest header field kept; longer ones are cut (hostile input, never a real header). */
const MAX_FIELD_LENGTH = 64 * 1024;

/**
 * Splits a header block into fields. Lines without a colon (an mbox `From ` line, garbage) are
 * skipped; a continuation line before any field is ignored.
 */
export function parseHeaderFields(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  const lines = block.split(/\r?\n/);
  let current: HeaderField | null = null;
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (current && current.value.length < MAX_FIELD_LENGTH) current.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon).trimEnd())) {
      current = null;
      continue;
    }
    current = { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() };
    fields.push(current);
  }
  for (const field of fields)
    if (field.value.length > MAX_FIELD_LENGTH) field.value = field.value.slice(0, MAX_FIELD_LENGTH);
  return fields;
}

/** First value of a field, or null. */
export function firstField(fields: HeaderField[], name: string): string | null {
  return fields.find((f) => f.name === name)?.value ?? null;
}

/**
 * Parses `type/subtype; a=b; c="d e"` (also RFC 2231 `name*=charset''%xx` and `name*0=` parts, decoded
 * as UTF-8 or Latin-1). Comments in parentheses are dropped.
 */
export function parseStructured(header: string | null): StructuredValue {
  if (!header) return { value: '', params: {} };
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let comment = 0;
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (quoted) {
      if (c === '\\' && i + 1 < header.length) current += header[++i];
      else if (c === '"') quoted = false;
      else current += c;
    } else if (comment > 0) {
      if (c === '(') comment++;
      else if (c === ')') comment--;
    } else if (c === '"') quoted = true;
    else if (c === '(') comment++;
    else if (c === ';') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  const params: Record<string, string> = {};
  const continued: Record<string, { chunks: string[]; encoded: boolean }> = {};
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const val = part.slice(eq + 1).trim();
    const split = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
    if (split) {
      const encoded = split[2] === undefined || split[3] === '*';
      const entry = (continued[split[1]] ??= { chunks: [], encoded: false });
      entry.encoded ||= encoded;
      entry.chunks[Number(split[2] ?? 0)] = encoded ? val : escapePercent(val);
    } else if (!(key in params)) params[key] = val;
  }
  for (const [key, { chunks, encoded }] of Object.entries(continued)) {
    const joined = chunks.filter((c) => c !== undefined).join('');
    params[key] = encoded ? decodeRfc2231(joined) : decodeRfc2231("''" + joined);
  }
  return { value: parts[0].trim().toLowerCase(), params };
}

function escapePercent(s: string): string {
  return s.replace(/[%\x80-\uffff]/g, (c) =>
    c.charCodeAt(0) < 0x100 ? '%' + c.charCodeAt(0).toString(16).padStart(2, '0') : c,
  );
}

function decodeRfc2231(value: string): string {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  const charset = (m?.[1] ?? '').toLowerCase();
  const encoded = m ? m[2] : value;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === '%' && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = encoded.charCodeAt(i);
      if (code < 0x100) bytes.push(code);
      else bytes.push(...Buffer.from(encoded[i], 'utf8'));
    }
  }
  const buf = Buffer.from(bytes);
  return charset && !/^utf-?8$/.test(charset) && !/^(us-)?ascii$/.test(charset)
    ? buf.toString('latin1')
    : buf.toString('utf8');
}
