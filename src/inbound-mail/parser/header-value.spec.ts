import { headerValue } from './header-value';

describe('headerValue', () => {
  it('reads a header trimmed and lower-cased, and absent as empty', () => {
    const mail = { headers: new Map([['auto-submitted', '  Auto-Replied ']]) };
    expect(headerValue(mail, 'auto-submitted')).toBe('auto-replied');
    expect(headerValue(mail, 'precedence')).toBe('');
  });
});
