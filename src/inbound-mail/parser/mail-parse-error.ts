/** Why a raw mail could not be parsed. */
export type MailParseErrorCode =
  | 'empty'
  | 'too-large'
  | 'header-too-large'
  | 'too-many-headers'
  | 'too-many-parts'
  | 'too-many-attachments'
  | 'timeout'
  | 'malformed';

/**
 * The only error `parseMail` throws: the mail is unreadable or hostile. Callers quarantine the raw
 * mail with `code` and `message` as the reason.
 */
export class MailParseError extends Error {
  override readonly name = 'MailParseError';
  /** The raw mail's hex SHA-256 when the parse thread had hashed it (ParsePool). */
  rawSha256?: string;

  constructor(
    readonly code: MailParseErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
