import { ConnectionLimit } from './connection-limit';

describe('ConnectionLimit', () => {
  it('counts connections per address up to the limit and forgets an address with none', () => {
    const limit = new ConnectionLimit(2);
    expect(limit.open('a')).toBe(true);
    expect(limit.open('a')).toBe(true);
    expect(limit.open('a')).toBe(false);
    expect(limit.open('b')).toBe(true);
    limit.close('a');
    expect(limit.held('a')).toBe(1);
    expect(limit.open('a')).toBe(true);
    limit.close('b');
    limit.close('b');
    expect(limit.held('b')).toBe(0);
  });
});
