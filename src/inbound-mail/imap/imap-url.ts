/** Where a poller reads mail, without how it logs in: a mailbox's `imapUrl` (stored without its password). */
export interface ImapLocation {
  /** imaps:// (TLS from the first byte); imap:// upgrades with STARTTLS when the server offers it. */
  secure: boolean;
  host: string;
  port: number;
  /** The URL's user ('' when it names none: the login then comes from MailboxCredentials alone). */
  user: string;
  mailbox: string;
  /**
   * The mailbox's identity without the password, e.g. `imap://support%40example.test@mail:143/INBOX`:
   * the cursor row's key and the advisory lock's name.
   */
  key: string;
}

/** Where and as whom the poller reads mail, taken from `IMAP_URL`. */
export interface ImapTarget extends ImapLocation {
  password: string;
}

/**
 * Parses `imap[s]://user:password@host[:port]/MAILBOX`: user and password percent-decoded, the
 * mailbox from the path (percent-decoded, `INBOX` when empty), ports 143 and 993 by default.
 * Throws an Error naming what is missing; the message never contains the password.
 */
export function parseImapUrl(raw: string): ImapTarget {
  const { location, password } = parse(raw);
  if (!location.user || !password)
    throw new Error('IMAP_URL must include a user and a password (imap://user:password@host/INBOX)');
  return { ...location, password };
}

/**
 * Parses a mailbox's IMAP URL as stored (`imap[s]://user@host[:port]/MAILBOX`, no password: that
 * is sealed apart, or the URL is an OAuth2 mailbox's). A password in the URL is ignored; the key is
 * the one parseImapUrl gives the same URL with a password, so a cursor written under IMAP_URL
 * stays the default mailbox's cursor.
 */
export function parseImapLocation(raw: string): ImapLocation {
  return parse(raw).location;
}

function parse(raw: string): { location: ImapLocation; password: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('IMAP_URL is not a valid URL');
  }
  if (url.protocol !== 'imap:' && url.protocol !== 'imaps:') {
    throw new Error(`IMAP_URL must start with imap:// or imaps:// (got ${url.protocol}//)`);
  }
  const secure = url.protocol === 'imaps:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error('IMAP_URL has no host');
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const port = url.port ? Number(url.port) : secure ? 993 : 143;
  const mailbox = decodeURIComponent(url.pathname.replace(/^\/+/, '')) || 'INBOX';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const key = `${url.protocol}//${encodeURIComponent(user)}@${hostPart}:${port}/${mailbox.split('/').map(encodeURIComponent).join('/')}`;
  return { location: { secure, host, port, user, mailbox, key }, password };
}
