/**
 * Which URLs an SNS message may make MailDesk fetch (its SigningCertURL and SubscribeURL): https on
 * an Amazon SNS host only, so a forged message can neither point the signature check at the
 * forger's certificate nor make the desk call any other server. SNS_EXTRA_URL_PREFIXES adds exact
 * prefixes for tests (a local certificate server).
 */

/** The hosts of Amazon SNS: `sns.<region>.amazonaws.com`, and `.com.cn` in the China regions. */
export const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** Why `url` may not be fetched for an SNS message, or null when it may. */
export function snsUrlProblem(url: string, extraPrefixes: readonly string[] = []): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  // A listed prefix matches the normalized URL from its start: origin and path, nothing looser.
  if (extraPrefixes.some((prefix) => u.href.startsWith(prefix))) return null;
  if (u.protocol !== 'https:') return 'not https';
  if (u.username || u.password) return 'carries credentials';
  if (u.port && u.port !== '443') return 'not on port 443';
  if (!SNS_HOST.test(u.hostname)) return `host ${u.hostname} is not an Amazon SNS host`;
  return null;
}
