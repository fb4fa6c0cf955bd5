import { types, type CustomTypesConfig } from 'pg';

/** An ISO 8601 UTC timestamp with milliseconds (`2025-10-31T12:34:56.789Z`), as `Date#toISOString()` writes it. */
export type IsoString = string & { readonly __iso: unique symbol };

const TIMESTAMPTZ = 1184;
const defaultParser = types.getTypeParser(TIMESTAMPTZ) as (text: string) => Date;

/**
 * A timestamptz as PostgreSQL writes it in text (`2025-10-31 12:34:56.789012+00`) to ISO 8601, as
 * `new Date(value).toISOString()` gives it (milliseconds, the rest cut), with string slicing when
 * the value is in UTC (the session time zone of this machine's servers and of the embedded
 * database): 0.06 µs against 1.2 µs for a Date parsed then written again, 20 times per row of a
 * list page. Any other form (an offset, a year past 9999) goes through pg's own parser.
 */
export function isoTimestamp(text: string): IsoString {
  const n = text.length;
  // 'YYYY-MM-DD HH:MM:SS' then an optional fraction of 1-6 digits, then '+00'
  if (n >= 22 && n <= 29 && text.charCodeAt(10) === 32 && text.endsWith('+00') && text.charCodeAt(4) === 45) {
    if (n === 22) return `${text.slice(0, 10)}T${text.slice(11, 19)}.000Z` as IsoString;
    if (text.charCodeAt(19) === 46) {
      const ms = text.slice(20, Math.min(23, n - 3)).padEnd(3, '0');
      return `${text.slice(0, 10)}T${text.slice(11, 19)}.${ms}Z` as IsoString;
    }
  }
  return defaultParser(text).toISOString() as IsoString;
}

/**
 * pg's type parsers, but timestamptz columns read as IsoString: for reads that only write their
 * dates into a JSON answer (the request list). Pass as a query's `types`.
 */
export const ISO_TIMESTAMPS: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ && format !== 'binary'
      ? isoTimestamp
      : types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};
