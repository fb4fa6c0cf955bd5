import { HMAC_SIGNATURE_FORMAT, hmacSignatureMatches } from '../../common/hmac-signature';

/** Header with the unix time (seconds) the sender signed the call at. */
export const TIMESTAMP_HEADER = 'x-maildesk-timestamp';
/**
 * Header with `sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>` (common/hmac-signature.ts,
 * the signature outgoing webhooks carry too). The body is the bytes after Content-Encoding (the
 * decompressed body, as the signature was defined first) or, for a compressed call, the bytes as
 * sent: either is accepted. The bytes as sent are checked before anything is decompressed; the
 * decompressed body only after a bounded inflation, and always before it is parsed.
 */
export const SIGNATURE_HEADER = 'x-maildesk-signature';
/** How far the timestamp may be from now, either way (replays of older calls are refused). */
export const SIGNATURE_MAX_AGE_SECONDS = 300;

/**
 * Why the signature headers of a webhook call are refused before its body is read (missing,
 * malformed, or a timestamp too far from now), or null when they may be checked against the body.
 */
export function signatureHeaderProblem(
  timestamp: string | undefined,
  signature: string | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | null {
  if (!timestamp || !signature) return `the ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers are required`;
  if (!/^\d{1,12}$/.test(timestamp)) return `${TIMESTAMP_HEADER} must be unix seconds`;
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_MAX_AGE_SECONDS) {
    return `${TIMESTAMP_HEADER} is more than ${SIGNATURE_MAX_AGE_SECONDS} seconds away from the server's clock`;
  }
  if (!HMAC_SIGNATURE_FORMAT.test(signature.trim())) return `${SIGNATURE_HEADER} must be sha256=<64 hex digits>`;
  return null;
}

/** The message of a 401 for a signature that does not match the body. */
export const SIGNATURE_MISMATCH = `${SIGNATURE_HEADER} does not match the body`;

/**
 * Why a signed webhook call is refused, or null when the signature is valid and fresh. The digest is
 * compared in constant time.
 */
export function signatureProblem(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | null {
  const headers = signatureHeaderProblem(timestamp, signature, nowSeconds);
  if (headers) return headers;
  return hmacSignatureMatches(secret, timestamp!, rawBody, signature!) ? null : SIGNATURE_MISMATCH;
}
