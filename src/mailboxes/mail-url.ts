/**
 * The IMAP and SMTP URLs of a mailbox (`imap://user:password@host:143/INBOX`), split into what is
 * stored in clear (the URL without its password) and the password (sealed apart). One home for
 * the rule that a password never travels with a URL that is shown, stored or logged.
 */

/** The URL without its password (the user stays); the input unchanged when it has none or does not parse. */
export function withoutPassword(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  if (!url.password) return raw;
  url.password = '';
  return url.toString();
}

/** The URL's password, percent-decoded; null when it has none or does not parse. */
export function passwordOf(raw: string): string | null {
  try {
    const password = new URL(raw).password;
    return password ? decodeURIComponent(password) : null;
  } catch {
    return null;
  }
}

/** The URL's user, percent-decoded (the login of an OAuth2 mailbox); '' when none. */
export function userOf(raw: string): string {
  try {
    return decodeURIComponent(new URL(raw).username);
  } catch {
    return '';
  }
}
