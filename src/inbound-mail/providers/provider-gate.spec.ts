import { providerTokenValid } from './provider-gate';

describe('providerTokenValid', () => {
  const token = 'inbound-token-0123456789';
  const basic = (user: string, pass: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
  });

  it('takes ?token=, Bearer, and Basic auth with the token as the password (any user)', () => {
    expect(providerTokenValid({}, { token }, token)).toBe(true);
    expect(providerTokenValid({ authorization: `Bearer ${token}` }, {}, token)).toBe(true);
    expect(providerTokenValid(basic('postmark', token), {}, token)).toBe(true);
    expect(providerTokenValid(basic('', token), {}, token)).toBe(true);
  });

  it('refuses a wrong or missing token, the token as user name, and any token when none is configured', () => {
    expect(providerTokenValid({}, {}, token)).toBe(false);
    expect(providerTokenValid({}, { token: 'wrong' }, token)).toBe(false);
    expect(providerTokenValid(basic(token, 'wrong'), {}, token)).toBe(false);
    expect(providerTokenValid({ authorization: 'Basic %%%' }, {}, token)).toBe(false);
    expect(providerTokenValid({}, { token }, undefined)).toBe(false);
  });
});
