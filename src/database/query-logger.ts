import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/** The longest statement text logged (a multi-row INSERT can be long); the rest is cut. */
const MAX_QUERY_CHARS = 2000;

/** What replaces a parameter's value found in an error message. */
const REDACTED = '[redacted]';

/**
 * True when the JSON of `value` is surely longer than `max` characters: it holds a string longer
 * than that, or bytes (a Buffer's JSON takes at least 2 characters a byte).
 */
function jsonLongerThan(value: unknown, max: number, depth = 0): boolean {
  if (typeof value === 'string') return value.length > max;
  if (ArrayBuffer.isView(value)) return value.byteLength * 2 > max;
  if (value === null || typeof value !== 'object' || depth > 8) return false;
  return Object.values(value).some((v) => jsonLongerThan(v, max, depth + 1));
}

/**
 * The string forms of a statement's parameters (arrays and objects: their items and their JSON),
 * leaving out those longer than `max` characters that would take building (a 20 MB raw mail's
 * bytes): they cannot occur in a message of that length.
 */
function parameterStrings(parameters: unknown, max: number, out: string[] = []): string[] {
  if (parameters === null || parameters === undefined) return out;
  if (Array.isArray(parameters)) {
    if (!jsonLongerThan(parameters, max)) out.push(JSON.stringify(parameters));
    for (const p of parameters) parameterStrings(p, max, out);
  } else if (Buffer.isBuffer(parameters)) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit of the string it decodes to.
    if (parameters.length <= 3 * max) out.push(parameters.toString('utf8'));
  } else if (parameters instanceof Date) {
    out.push(parameters.toISOString());
  } else if (typeof parameters === 'object') {
    if (!jsonLongerThan(parameters, max)) out.push(JSON.stringify(parameters));
    for (const p of Object.values(parameters)) parameterStrings(p, max, out);
  } else if (typeof parameters === 'string') {
    out.push(parameters);
  } else if (typeof parameters === 'number' || typeof parameters === 'bigint' || typeof parameters === 'boolean') {
    out.push(String(parameters));
  }
  return out;
}

/**
 * An error message of PostgreSQL without the values of the statement that failed: each parameter
 * (longest first) that occurs in it becomes `[redacted]`, and so does any quoted value the message
 * still holds (`invalid input syntax for type integer: "..."` quotes the value it could not read).
 * Parameters of 3 characters or less are left (they would blank out ordinary words).
 */
export function redactQueryError(message: string, parameters?: unknown): string {
  let text = message;
  const values = [...new Set(parameterStrings(parameters, message.length))].filter(
    (v) => v.length > 3 && v.length <= message.length,
  );
  values.sort((a, b) => b.length - a.length);
  for (const v of values) text = text.split(v).join(REDACTED);
  // Values PostgreSQL quotes after a colon ("...: "value"", "... at or near "x""); names are quoted without one.
  return text.replace(/(: |near )"(?:[^"]|"")*"/g, `$1"${REDACTED}"`);
}

/** The SQLSTATE and constraint of a driver error, when it has them. */
function errorFacts(error: unknown): string {
  const e = error as { code?: unknown; constraint?: unknown; driverError?: { code?: unknown; constraint?: unknown } };
  const code = e?.code ?? e?.driverError?.code;
  const constraint = e?.constraint ?? e?.driverError?.constraint;
  return [
    typeof code === 'string' ? `code ${code}` : '',
    typeof constraint === 'string' ? `constraint ${constraint}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * TypeORM's logger for MailDesk: logs a failed statement (its text, cut at 2,000 characters, the
 * SQLSTATE, the constraint and PostgreSQL's message) through Nest's logger (so as JSON under
 * LOG_FORMAT=json, like every other line), and nothing else: never the statement's parameters (a
 * raw mail, a webhook secret, a password hash), never the driver error's `detail` (a unique
 * violation's is `Key (email)=(...)`, a not-null violation's the whole row), and with every
 * parameter value and quoted value redacted from the message. Other statements are not logged
 * (TypeORM's `logging: ['error']` before).
 */
export class QueryErrorLogger implements TypeOrmLogger {
  private readonly logger = new NestLogger('Database');

  logQueryError(error: string | Error, query: string, parameters?: unknown[] | object): void {
    const message = typeof error === 'string' ? error : error.message;
    const facts = typeof error === 'string' ? '' : errorFacts(error);
    const sql = query.length > MAX_QUERY_CHARS ? `${query.slice(0, MAX_QUERY_CHARS)}...` : query;
    this.logger.error(
      `query failed${facts ? ` (${facts})` : ''}: ${redactQueryError(message, parameters)} -- ${sql.replace(/\s+/g, ' ')}`,
    );
  }

  logQuery(): void {}

  logQuerySlow(): void {}

  logSchemaBuild(): void {}

  logMigration(): void {}

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
  }
}
