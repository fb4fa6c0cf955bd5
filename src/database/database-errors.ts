/**
 * What a database error means to its caller, read from the driver's error code or message. The
 * global exception filter answers 503 for these; the inbound pipeline rethrows them instead of
 * quarantining the mail, so that its caller (webhook client, IMAP poller) retries later.
 */

/** Connection refused or lost, and PostgreSQL's codes for a server shutting down or not accepting connections. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  '57P01',
  '57P03',
  '08006',
  '08001',
  '08003',
]);

/** True where the error says the database cannot be reached (the caller should retry later). */
export function isDatabaseUnavailable(e: unknown): boolean {
  const err = e as { code?: string; message?: string; driverError?: { code?: string } };
  const code = err?.driverError?.code ?? err?.code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  const msg = String(err?.message ?? '');
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not currently accepting connections|terminating connection|the database system is (starting up|shutting down)/i.test(
    msg,
  );
}
