export type IngestStatus = 'created' | 'appended' | 'duplicate' | 'ignored' | 'quarantined';

/** One result per email, as the webhook answers it (API.md). */
export interface IngestResult {
  status: IngestStatus;
  requestId: number | null;
  /** The Message-ID (without <>) the mail is stored under. */
  messageId: string | null;
  reason: string | null;
}
