import * as crypto from 'node:crypto';
import { snsCanonicalString, type SnsMessage } from './sns-message';

/** The digest each SignatureVersion signs with (RSA PKCS#1 v1.5). */
const DIGESTS: Record<string, string> = { '1': 'RSA-SHA1', '2': 'RSA-SHA256' };

/** True for a SignatureVersion MailDesk checks (1: SHA1withRSA, 2: SHA256withRSA). */
export function knownSignatureVersion(version: string): boolean {
  return Object.hasOwn(DIGESTS, version);
}

/**
 * True where `m.Signature` (base64) is the signature of the message's canonical string by the
 * key of `certificate`, with the digest of its SignatureVersion; false for any other version.
 */
export function snsSignatureValid(m: SnsMessage, certificate: crypto.X509Certificate): boolean {
  const digest = DIGESTS[m.SignatureVersion];
  if (!digest || !/^[A-Za-z0-9+/]+={0,2}$/.test(m.Signature)) return false;
  try {
    return crypto.verify(
      digest,
      Buffer.from(snsCanonicalString(m), 'utf8'),
      certificate.publicKey,
      Buffer.from(m.Signature, 'base64'),
    );
  } catch {
    return false;
  }
}
