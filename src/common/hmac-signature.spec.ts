import * as crypto from 'node:crypto';
import { hmacSignature, hmacSignatureMatches } from './hmac-signature';

describe('hmacSignature', () => {
  const secret = 'whsec_test';
  const body = '{"event":"request.created","data":{"subject":"Café"}}';

  it('is sha256= and the hex HMAC-SHA256 of "timestamp.body"', () => {
    const expected = crypto.createHmac('sha256', secret).update(`1764057600.${body}`).digest('hex');
    expect(hmacSignature(secret, '1764057600', body)).toBe(`sha256=${expected}`);
  });

  it('signs a string as its UTF-8 bytes, and a number timestamp as its digits', () => {
    expect(hmacSignature(secret, 1764057600, Buffer.from(body, 'utf8'))).toBe(
      hmacSignature(secret, '1764057600', body),
    );
  });

  it('differs with the secret, the timestamp and the body', () => {
    const base = hmacSignature(secret, 1, body);
    expect(hmacSignature('other', 1, body)).not.toBe(base);
    expect(hmacSignature(secret, 2, body)).not.toBe(base);
    expect(hmacSignature(secret, 1, `${body} `)).not.toBe(base);
  });
});

describe('hmacSignatureMatches', () => {
  const raw = Buffer.from('From: a@example.com\r\n\r\nhello');
  const good = hmacSignature('s3cret', 1700000000, raw);

  it('accepts the signature of the body, in either case and with surrounding spaces', () => {
    expect(hmacSignatureMatches('s3cret', '1700000000', raw, good)).toBe(true);
    expect(
      hmacSignatureMatches('s3cret', '1700000000', raw, ` ${good.toUpperCase().replace('SHA256', 'sha256')} `),
    ).toBe(true);
  });

  it('refuses another body, timestamp or secret', () => {
    expect(hmacSignatureMatches('s3cret', '1700000000', Buffer.from('other'), good)).toBe(false);
    expect(hmacSignatureMatches('s3cret', '1700000001', raw, good)).toBe(false);
    expect(hmacSignatureMatches('other', '1700000000', raw, good)).toBe(false);
  });

  it('refuses a malformed signature without throwing', () => {
    expect(hmacSignatureMatches('s3cret', '1700000000', raw, 'sha256=abc')).toBe(false);
    expect(hmacSignatureMatches('s3cret', '1700000000', raw, good.slice('sha256='.length))).toBe(false);
  });
});
