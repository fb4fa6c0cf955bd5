import { ratingLinks, signRatingToken, verifyRatingToken } from './rating-token';

const SECRET = 'test-jwt-secret-0123456789abcdef';
const NOW = Date.parse('2026-11-25T10:00:00Z');

describe('rating tokens', () => {
  it('verifies a token it signed, with its claim', () => {
    const token = signRatingToken(SECRET, { requestId: 42, rating: 4, expiresAt: NOW / 1000 + 60 });
    expect(verifyRatingToken(SECRET, token, NOW)).toEqual({ requestId: 42, rating: 4, expiresAt: NOW / 1000 + 60 });
  });

  it('refuses an expired token as expired', () => {
    const token = signRatingToken(SECRET, { requestId: 42, rating: 4, expiresAt: NOW / 1000 - 1 });
    expect(verifyRatingToken(SECRET, token, NOW)).toBe('expired');
  });

  it('refuses a changed rating, request or expiry, another secret, and garbage', () => {
    const token = signRatingToken(SECRET, { requestId: 42, rating: 4, expiresAt: NOW / 1000 + 60 });
    const [id, rating, exp, sig] = token.split('.');
    expect(verifyRatingToken(SECRET, [id, '5', exp, sig].join('.'), NOW)).toBe('invalid');
    expect(verifyRatingToken(SECRET, ['43', rating, exp, sig].join('.'), NOW)).toBe('invalid');
    expect(verifyRatingToken(SECRET, [id, rating, String(Number(exp) + 1000), sig].join('.'), NOW)).toBe('invalid');
    expect(verifyRatingToken('another-secret-0123456789abcdef', token, NOW)).toBe('invalid');
    expect(verifyRatingToken(SECRET, 'nope', NOW)).toBe('invalid');
    expect(verifyRatingToken(SECRET, `${id}.9.${exp}.${sig}`, NOW)).toBe('invalid');
  });

  it('builds five links under the public URL, valid for the given days', () => {
    const links = ratingLinks(SECRET, 'https://desk.example.com', 7, 30, NOW);
    expect(links.map((l) => l.rating)).toEqual([1, 2, 3, 4, 5]);
    for (const l of links) {
      expect(l.url).toMatch(/^https:\/\/desk\.example\.com\/feedback\/7\.[1-5]\.\d+\.[\w-]{43}$/);
      const claim = verifyRatingToken(SECRET, l.url.split('/').pop()!, NOW + 29 * 86_400_000);
      expect(claim).toMatchObject({ requestId: 7, rating: l.rating });
      expect(verifyRatingToken(SECRET, l.url.split('/').pop()!, NOW + 31 * 86_400_000)).toBe('expired');
    }
  });
});
