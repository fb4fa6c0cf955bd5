import * as dns from 'node:dns';
import * as net from 'node:net';

/**
 * Where outgoing webhooks may go. An admin registers any URL and MailDesk POSTs to it from inside
 * the network, so, unless WEBHOOK_ALLOW_PRIVATE_TARGETS=true, no target may be an address of the
 * host or of a private network (isPrivateAddress): checked at registration for a literal IP or
 * `localhost` (refusedTarget, 400), and at every connection for every address a host name
 * resolves to (guardedLookup: the connection goes to the address that was checked, so a DNS
 * answer changing between check and connect, DNS rebinding, cannot switch it). A failed delivery
 * is reported as a class of error (deliveryErrorClass), never its cause (no address, port or
 * message of the target's network: the delivery list would be a port scanner).
 */

/** IPv4 ranges no webhook may reach: [first address, prefix length]. */
const PRIVATE_V4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 included
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast 255.255.255.255 included
];

function v4Number(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

const PRIVATE_V4_RANGES = PRIVATE_V4.map(([base, bits]) => ({ base: v4Number(base), size: 2 ** (32 - bits) }));

function isPrivateV4Number(n: number): boolean {
  return PRIVATE_V4_RANGES.some((r) => n >= r.base && n < r.base + r.size);
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted quad and `::` expanded). */
function v6Words(ip: string): number[] {
  let text = ip;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const n = v4Number(quad[1]);
    text = `${text.slice(0, -quad[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  return tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * True for an address MailDesk must not call: loopback, private (RFC 1918, fc00::/7), carrier-grade
 * NAT, link-local (169.254/16 with the cloud metadata address, fe80::/10), unspecified (0.0.0.0,
 * ::), multicast, reserved, and an IPv6 address embedding one of those IPv4 addresses
 * (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16).
 * Anything that is no IP address counts as private.
 */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(ip);
  if (family === 4) return isPrivateV4Number(v4Number(ip));
  if (family !== 6) return true;
  const w = v6Words(ip);
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const embedded = (hi: number, lo: number) => isPrivateV4Number(hi * 65536 + lo);
  if (zero(0, 8)) return true; // ::
  if (zero(0, 7) && w[7] === 1) return true; // ::1
  if ((w[0] & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((w[0] & 0xffc0) === 0xfe80 || (w[0] & 0xffc0) === 0xfec0) return true; // link-local, site-local
  if ((w[0] & 0xff00) === 0xff00) return true; // multicast
  if (zero(0, 5) && w[5] === 0xffff) return embedded(w[6], w[7]); // IPv4-mapped
  if (zero(0, 6)) return embedded(w[6], w[7]); // IPv4-compatible
  if (w[0] === 0x64 && w[1] === 0xff9b && zero(2, 6)) return embedded(w[6], w[7]); // NAT64
  if (w[0] === 0x2002) return embedded(w[1], w[2]); // 6to4
  return false;
}

const REFUSED =
  'url must not point at a private, loopback or link-local address (WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows it)';

/**
 * Why a webhook URL is refused at registration, or undefined: a literal IP address that is
 * private (URL parsing has already normalised forms like `http://2130706433/` to 127.0.0.1), or
 * `localhost` and its subdomains. Other host names are checked at every connection.
 */
export function refusedTarget(url: URL, allowPrivate: boolean): string | undefined {
  if (allowPrivate) return undefined;
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (net.isIP(host)) return isPrivateAddress(host) ? REFUSED : undefined;
  if (host === 'localhost' || host.endsWith('.localhost')) return REFUSED;
  return undefined;
}

/** A webhook target that is, or resolves to, an address MailDesk must not call. */
export class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
  constructor(host: string) {
    super(`${host} is or resolves to a private address`);
    this.name = 'PrivateAddressError';
  }
}

type LookupAddress = { address: string; family: number };
type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request / net.connect that resolves the host name, refuses it when any
 * address it resolves to is private (a mixed answer is refused whole), and hands the connection
 * exactly the addresses it checked, so the socket connects to a checked address. Answers in the
 * form asked for (`all`: Node's happy-eyeballs connect asks for every address).
 */
export function guardedLookup(
  allowPrivate: boolean,
  resolve: Resolver = dns.lookup,
): (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    resolve(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (!addresses.length)
        return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
      if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address)))
        return callback(new PrivateAddressError(hostname), []);
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** What a failed delivery reports: one of these, or `HTTP <status>` for an answer that is no 2xx. */
export type DeliveryErrorClass = 'timeout' | 'refused' | 'tls' | 'dns' | 'private address' | 'network';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL']);

/** The class of a delivery's network error; the error's message and addresses are dropped. */
export function deliveryErrorClass(error: unknown): DeliveryErrorClass {
  const e = error as { name?: string; code?: unknown; cause?: unknown };
  if (error instanceof PrivateAddressError || e?.code === 'EPRIVATEADDRESS') return 'private address';
  if (e?.cause && e.cause !== error && deliveryErrorClass(e.cause) !== 'network') return deliveryErrorClass(e.cause);
  const code = typeof e?.code === 'string' ? e.code : '';
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT')
    return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (DNS_CODES.has(code)) return 'dns';
  if (/^(ERR_TLS_|ERR_SSL_|ERR_OSSL_)|^EPROTO$|CERT|SELF_SIGNED|^UNABLE_TO_/.test(code)) return 'tls';
  return 'network';
}
