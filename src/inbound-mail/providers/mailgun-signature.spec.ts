import { mailgunSignatureOf, mailgunSignatureProblem } from './mailgun-signature';

describe('mailgunSignatureProblem', () => {
  const key = 'key-0123456789abcdef';
  const now = 1_800_000_000;
  const signed = (timestamp: number, token = 'a'.repeat(50)) => ({
    timestamp: String(timestamp),
    token,
    signature: mailgunSignatureOf(key, String(timestamp), token),
  });

  it('accepts a fresh signature of timestamp + token', () => {
    expect(mailgunSignatureProblem(key, signed(now - 10), now)).toBeNull();
  });

  it('refuses another key, a stale or future timestamp, and missing or malformed fields', () => {
    expect(mailgunSignatureProblem('other-key-0123456789', signed(now), now)).toBe('signature does not match');
    expect(mailgunSignatureProblem(key, signed(now - 301), now)).toMatch(/timestamp is more than 300/);
    expect(mailgunSignatureProblem(key, signed(now + 301), now)).toMatch(/timestamp is more than 300/);
    expect(mailgunSignatureProblem(key, { ...signed(now), signature: undefined }, now)).toMatch(/required/);
    expect(mailgunSignatureProblem(key, { ...signed(now), signature: 'zz' }, now)).toMatch(/64 hex/);
    expect(mailgunSignatureProblem(key, { ...signed(now), timestamp: '1e9' }, now)).toMatch(/unix seconds/);
    expect(mailgunSignatureProblem(key, signed(now, 'x'.repeat(513)), now)).toMatch(/too long/);
  });
});
