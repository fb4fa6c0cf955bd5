import * as crypto from 'node:crypto';

/** Side tokens read from one subject at most (each is looked up in the ingest transaction). */
const MAX_SIDE_TOKENS = 10;

/** Letters of a side token: lower-case base32 (a-z, 2-7), so a mail client that changes case changes nothing. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** Characters of a side token: 16 base32 characters, 80 random bits (unguessable; side_threads.token is 8..64). */
export const SIDE_TOKEN_LENGTH = 16;

/**
 * The side-thread marker in a subject, `[#123-f:<token>]`: the request's number for people, the
 * token for threading. Never a request token: `subjectTokens` reads `[#123]` only (a `]` right
 * after the digits), so a third party's answer never threads as the customer's by its subject.
 */
const MARKER = new RegExp(`\\[#\\d{1,9}-f:([a-z2-7]{${SIDE_TOKEN_LENGTH}})\\]`, 'gi');

/** A new random side token (80 bits from the CSPRNG). */
export function newSideToken(): string {
  const bytes = crypto.randomBytes(SIDE_TOKEN_LENGTH);
  let token = '';
  for (const b of bytes) token += ALPHABET[b & 31];
  return token;
}

/** The marker of side thread `token` of request `requestId`, for its subject. */
export function sideMarker(requestId: number, token: string): string {
  return `[#${requestId}-f:${token}]`;
}

/** The side tokens in a subject, lower-cased, each once, in order: the first MAX_SIDE_TOKENS. */
export function sideTokens(subject: string): string[] {
  const tokens = new Set<string>();
  for (const m of subject.matchAll(MARKER)) {
    if (tokens.size >= MAX_SIDE_TOKENS) break;
    tokens.add(m[1].toLowerCase());
  }
  return [...tokens];
}

/** A subject without side markers (for the subject of a reply in the thread, which adds its own). */
export function withoutSideMarkers(subject: string): string {
  return subject.replace(MARKER, ' ').replace(/\s+/g, ' ').trim();
}
