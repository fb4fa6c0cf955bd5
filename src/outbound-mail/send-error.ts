/** What the dispatcher does with a failed send. */
export interface SendFailure {
  /** true: the server refused this mail for good (SMTP 5xx); false: try again later. */
  permanent: boolean;
  /** Stored in outbox.last_error: the server's answer where there is one. */
  reason: string;
}

const MAX_REASON = 1000;

/**
 * Sorts a transport error: an SMTP 5xx answer (but 503, a session-state error) is permanent;
 * network errors, timeouts, 4xx answers, authentication problems (a configuration fault, not
 * the mail's) and anything else are retried.
 */
export function classifySendError(e: unknown): SendFailure {
  const err = (e ?? {}) as { code?: string; responseCode?: number; response?: string; message?: string };
  const code = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const auth = err.code === 'EAUTH' || err.code === 'ENOAUTH';
  const permanent = code !== undefined && code >= 500 && code < 600 && code !== 503 && !auth;
  const answer = err.response?.trim() || (code ? `${code} ${err.message ?? ''}`.trim() : '');
  const parts = [err.code, answer || err.message || String(e)].filter(Boolean);
  return { permanent, reason: parts.join(': ').slice(0, MAX_REASON) };
}
