/**
 * One CSV field (RFC 4180: quoted when it holds a quote, a comma or a line break). A text starting
 * with = + - @, a tab or a carriage return is prefixed with ' so that a spreadsheet opening the file
 * shows it rather than evaluating it as a formula (CSV injection); numbers are written as they are.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record: the fields joined by commas and ended by CRLF (RFC 4180). */
export function csvLine(values: ReadonlyArray<string | number | boolean | null | undefined>): string {
  return values.map(csvField).join(',') + '\r\n';
}

/** True when the Accept header prefers text/csv to JSON (by its q-values; an absent header is JSON). */
export function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  const q = (type: string) => {
    for (const part of accept.split(',')) {
      const [mime, ...params] = part
        .trim()
        .split(';')
        .map((s) => s.trim().toLowerCase());
      if (mime === type) {
        const qp = params.find((p) => p.startsWith('q='));
        return qp ? Number(qp.slice(2)) || 0 : 1;
      }
    }
    return 0;
  };
  return q('text/csv') > 0 && q('text/csv') >= q('application/json');
}
