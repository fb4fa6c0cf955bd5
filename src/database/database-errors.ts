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

/** True for a blob a row names but the store lacks (src/blobs/: BlobMissingError): lost, not down. */
export function isBlobMissing(e: unknown): boolean {
  return (e as { code?: string })?.code === 'BLOB_MISSING';
}

/** The foreign keys by which a row holds its blob (migration 1764970000000): violated only when the sweeper won a race. */
const BLOB_FOREIGN_KEYS = new Set(['attachments_blob_fk', 'inbound_mail_raw_blob_fk']);

/**
 * True where the database or the blob store (src/blobs/: its BlobStoreUnavailableError, or a row
 * whose blob the sweeper just freed) cannot take the write now: the caller answers "retry later"
 * (503, SMTP 451, IMAP leaves the mail, mailgate 75) and nothing is lost.
 */
export function isStorageUnavailable(e: unknown): boolean {
  if (isDatabaseUnavailable(e)) return true;
  const err = e as { code?: string; driverError?: { code?: string; constraint?: string } };
  if (err?.code === 'BLOB_STORE_UNAVAILABLE') return true;
  const driver = err?.driverError;
  return driver?.code === '23503' && BLOB_FOREIGN_KEYS.has(driver.constraint ?? '');
}
