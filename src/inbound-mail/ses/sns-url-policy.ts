/**
 * Which URLs an SNS message may make MailDesk fetch (its SigningCertURL and SubscribeURL): https on
 * the Amazon SNS host of the topic's region only, in the shape SNS gives them, so a forged message
 * can neither point the signature check at the forger's certificate nor make the desk call any
 * other server. SNS_EXTRA_URL_PREFIXES adds exact prefixes for tests (a local certificate server).
 */

/** The hosts of Amazon SNS: `sns.<region>.amazonaws.com`, and `.com.cn` in the China regions. */
export const SNS_HOST = /^sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

/** What the URL is for: each has the path SNS gives it. */
export type SnsUrlKind = 'certificate' | 'subscribe';

const PATHS: Record<SnsUrlKind, RegExp> = {
  // https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem
  certificate: /^\/SimpleNotificationService-[A-Za-z0-9]{1,128}\.pem$/,
  // https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=...&Token=...
  subscribe: /^\/$/,
};

/** The region of a topic ARN (`arn:aws:sns:<region>:<account>:<name>`), or null. */
export function topicRegion(topicArn: string): string | null {
  return /^arn:aws[a-z-]*:sns:([a-z0-9-]+):/.exec(topicArn)?.[1] ?? null;
}

/**
 * Why `url` may not be fetched for an SNS message of `region`'s topic, or null when it may. A URL
 * under one of `extraPrefixes` (compared with the normalized URL from its start) is trusted as is.
 */
export function snsUrlProblem(
  url: string,
  kind: SnsUrlKind,
  region: string | null,
  extraPrefixes: readonly string[] = [],
): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (extraPrefixes.some((prefix) => u.href.startsWith(prefix))) return null;
  if (u.protocol !== 'https:') return 'not https';
  if (u.username || u.password) return 'carries credentials';
  if (u.port && u.port !== '443') return 'not on port 443';
  const host = SNS_HOST.exec(u.hostname);
  if (!host) return `host ${u.hostname} is not an Amazon SNS host`;
  if (host[1] !== region) return `host ${u.hostname} is not the SNS host of the topic's region`;
  if (!PATHS[kind].test(u.pathname)) return `not an SNS ${kind} URL`;
  if (kind === 'subscribe' && u.searchParams.get('Action') !== 'ConfirmSubscription') {
    return 'not an SNS ConfirmSubscription URL';
  }
  return null;
}
