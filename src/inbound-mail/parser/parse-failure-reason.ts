import { MailParseError } from './mail-parse-error';

/**
 * The quarantine reason for a mail that could not be parsed: `parse timeout: ...` past the deadline,
 * the cap's own message past a cap of ./limits.ts (`too many headers: ...`, `header too large: ...`,
 * `too many MIME parts: ...`, `too many attachments: ...`), `unparsable: ...` for other
 * MailParseErrors and `parser failed: ...` for anything else (e.g. a parse thread that died).
 */
export function parseFailureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof MailParseError)) return `parser failed: ${message}`;
  switch (error.code) {
    case 'timeout':
      return `parse timeout: ${message}`;
    case 'header-too-large':
    case 'too-many-headers':
    case 'too-many-parts':
    case 'too-many-attachments':
      return message;
    default:
      return `unparsable: ${message}`;
  }
}
