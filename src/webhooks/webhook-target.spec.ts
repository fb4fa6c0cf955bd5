import {
  deliveryErrorClass,
  guardedLookup,
  isPrivateAddress,
  PrivateAddressError,
  refusedTarget,
} from './webhook-target';

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '::',
    '::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'febf::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    'fe80::1%eth0',
  ])('%s is private', (ip) => expect(isPrivateAddress(ip)).toBe(true));

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.32.0.1',
    '93.184.215.14',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
  ])('%s is public', (ip) => expect(isPrivateAddress(ip)).toBe(false));
});

describe('refusedTarget (registration)', () => {
  it.each([
    'http://127.0.0.1:8080/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://0.0.0.0/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.1.1/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://localhost:3000/',
    'http://api.localhost/',
  ])('refuses %s', (url) => expect(refusedTarget(new URL(url), false)).toMatch(/private|loopback|link-local/));

  it.each([
    'https://8.8.8.8/hook',
    'https://[2606:4700::1111]/',
    'https://chat.example.com/hooks/maildesk',
    'http://10.example.com/',
  ])('accepts %s (a host name is checked when connecting)', (url) =>
    expect(refusedTarget(new URL(url), false)).toBeUndefined(),
  );

  it('accepts every target with WEBHOOK_ALLOW_PRIVATE_TARGETS', () => {
    expect(refusedTarget(new URL('http://127.0.0.1/'), true)).toBeUndefined();
  });
});

describe('guardedLookup (connection time)', () => {
  type Addr = { address: string; family: number };
  const resolver =
    (addresses: Addr[]) =>
    (_host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, a: Addr[]) => void) =>
      cb(null, addresses);
  const run = (addresses: Addr[], allow = false, all = false) =>
    new Promise<{ err: Error | null; address: unknown; family?: number }>((resolve) =>
      guardedLookup(allow, resolver(addresses))('hook.example.com', { all }, (err, address, family) =>
        resolve({ err, address, family }),
      ),
    );

  it('connects to a checked public address', async () => {
    await expect(run([{ address: '93.184.215.14', family: 4 }])).resolves.toEqual({
      err: null,
      address: '93.184.215.14',
      family: 4,
    });
    const all = await run([{ address: '93.184.215.14', family: 4 }], false, true);
    expect(all.address).toEqual([{ address: '93.184.215.14', family: 4 }]);
  });

  it('refuses a name any of whose addresses is private (no mixed answer lets a rebinding through)', async () => {
    for (const addresses of [
      [{ address: '127.0.0.1', family: 4 }],
      [
        { address: '93.184.215.14', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
      [{ address: '::ffff:10.0.0.1', family: 6 }],
    ]) {
      const r = await run(addresses);
      expect(r.err).toBeInstanceOf(PrivateAddressError);
    }
  });

  it('lets private addresses through with WEBHOOK_ALLOW_PRIVATE_TARGETS', async () => {
    await expect(run([{ address: '127.0.0.1', family: 4 }], true)).resolves.toMatchObject({
      err: null,
      address: '127.0.0.1',
    });
  });
});

describe('deliveryErrorClass', () => {
  const err = (code: string, message = code) => Object.assign(new Error(message), { code });
  it.each([
    [new PrivateAddressError('hook.example.com'), 'private address'],
    [err('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:8080'), 'refused'],
    [err('ENOTFOUND', 'getaddrinfo ENOTFOUND internal.corp'), 'dns'],
    [err('EAI_AGAIN'), 'dns'],
    [err('ETIMEDOUT'), 'timeout'],
    [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'timeout'],
    [err('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls'],
    [err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    [err('CERT_HAS_EXPIRED'), 'tls'],
    [err('EPROTO'), 'tls'],
    [err('ECONNRESET', 'socket hang up'), 'network'],
    [err('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.9'), 'network'],
    [new Error('something with 10.0.0.9:22 in it'), 'network'],
  ])('%s -> %s', (e, cls) => expect(deliveryErrorClass(e)).toBe(cls));
});
