import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a rating link carries: the request, the rating clicked, and when the link expires (epoch seconds). */
export interface RatingClaim {
  requestId: number;
  rating: number;
  expiresAt: number;
}

/** The ratings a customer can give, worst to best. */
export const RATINGS = [1, 2, 3, 4, 5] as const;

function signature(secret: string, payload: string): string {
  // A key of its own: a rating signature can never pass as an operator token's, nor the reverse.
  const key = createHmac('sha256', secret).update('maildesk rating links').digest();
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/** `<requestId>.<rating>.<expiresAt>.<HMAC-SHA256>`: URL-safe, signed with a key derived from the JWT secret. */
export function signRatingToken(secret: string, claim: RatingClaim): string {
  const payload = `${claim.requestId}.${claim.rating}.${claim.expiresAt}`;
  return `${payload}.${signature(secret, payload)}`;
}

/**
 * The claim of a token, or why it is refused: `invalid` (malformed or a wrong signature) or
 * `expired` (a valid signature past its expiry).
 */
export function verifyRatingToken(
  secret: string,
  token: string,
  nowMs = Date.now(),
): RatingClaim | 'invalid' | 'expired' {
  const m = /^(\d{1,10})\.([1-5])\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return 'invalid';
  const expected = Buffer.from(signature(secret, `${m[1]}.${m[2]}.${m[3]}`));
  const given = Buffer.from(m[4]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
  const claim = { requestId: Number(m[1]), rating: Number(m[2]), expiresAt: Number(m[3]) };
  if (claim.requestId < 1 || claim.requestId > 2_147_483_647) return 'invalid';
  return claim.expiresAt * 1000 <= nowMs ? 'expired' : claim;
}

/** The five rating links of a closed request: `<publicUrl>/feedback/<token>`. */
export function ratingLinks(
  secret: string,
  publicUrl: string,
  requestId: number,
  ttlDays: number,
  nowMs = Date.now(),
): Array<{ rating: number; url: string }> {
  const expiresAt = Math.floor(nowMs / 1000) + ttlDays * 86_400;
  return RATINGS.map((rating) => ({
    rating,
    url: `${publicUrl}/feedback/${signRatingToken(secret, { requestId, rating, expiresAt })}`,
  }));
}
