import {
  domainOf,
  isAddress,
  isHostAddress,
  isHostName,
  isRoutableAddress,
  normalizeAddress,
  stripMessageId,
} from './addresses';

describe('isAddress', () => {
  it.each([
    'ada@example.com',
    'Ada.Lovelace+desk@Example.COM',
    'root@localhost',
    'user@[192.0.2.1]',
    'odd[name]@example.com',
    "o'brien@example.ie",
  ])('accepts %s', (value) => {
    expect(isAddress(value)).toBe(true);
  });

  it.each([
    '',
    'nobody',
    '@example.com',
    'ada@',
    'a@b@example.com',
    'ada @example.com',
    'ada@example.com ',
    'Ada <ada@example.com>',
    'a,b@example.com',
    'a;b@example.com',
    '"a"@example.com',
    // A From line `a:b@x.com` is a group named "a" holding b@x.com; `x(y)@x.com` is x@x.com with a comment.
    'a:b@example.com',
    'x(y)@example.com',
  ])('refuses %j', (value) => {
    expect(isAddress(value)).toBe(false);
  });
});

describe('domainOf', () => {
  it('is what follows the last @', () => {
    expect(domainOf('help@desk.example.com')).toBe('desk.example.com');
    expect(domainOf('nobody')).toBe('nobody');
  });
});

describe('isHostName', () => {
  it('accepts lower-case labels joined by dots', () => {
    for (const value of ['example.com', 'localhost', 'mail_1.ex-ample.test']) expect(isHostName(value)).toBe(true);
  });

  it('refuses anything else', () => {
    for (const value of ['', 'Example.com', '.example.com', 'example..com', 'example.com.', 'exa mple.com', '*.x'])
      expect(isHostName(value)).toBe(false);
    expect(isHostName(`${'a'.repeat(250)}.com`)).toBe(false);
  });
});

describe('isRoutableAddress (the webhook rule)', () => {
  it('wants a dot inside the domain, or localhost in any case', () => {
    for (const value of ['ada@example.com', 'ada@mail.example.co.uk', 'ada@localhost', 'ada@LocalHost'])
      expect(isRoutableAddress(value)).toBe(true);
    for (const value of ['ada@example', 'ada@example.', 'ada@.example', 'not an email', 'a:b@example.com'])
      expect(isRoutableAddress(value)).toBe(false);
  });
});

describe('isHostAddress (the blocklist rule)', () => {
  it('wants a dot-atom local part of at most 64 characters at a host name', () => {
    expect(isHostAddress('spam@example.com')).toBe(true);
    expect(isHostAddress(`${'a'.repeat(64)}@example.com`)).toBe(true);
    for (const value of [
      `${'a'.repeat(65)}@example.com`,
      'a[b]@example.com',
      'a\\b@example.com',
      'user@[192.0.2.1]',
      'a b@example.com',
      'spam@Example.com',
      'spam',
    ])
      expect(isHostAddress(value)).toBe(false);
  });
});

describe('normalizeAddress and stripMessageId', () => {
  it('take the bare address and the bare Message-ID', () => {
    expect(normalizeAddress(' Ada <Ada@Example.COM> ')).toBe('ada@example.com');
    expect(normalizeAddress(undefined)).toBe('');
    expect(stripMessageId(' <<abc@example.com>> ')).toBe('abc@example.com');
  });
});
