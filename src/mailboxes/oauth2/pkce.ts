import * as crypto from 'node:crypto';

/** A PKCE pair (RFC 7636): the verifier kept sealed by MailDesk, the S256 challenge sent to the provider. */
export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A fresh verifier (43 base64url characters of 32 random bytes) and its S256 challenge. */
export function newPkce(): Pkce {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier) };
}

/** The S256 challenge of a verifier: base64url(SHA-256(verifier)). */
export function pkceChallenge(verifier: string): string {
  return crypto.createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** A fresh `state`: 32 random bytes, base64url. It is the callback's only credential. */
export function newState(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** How a state is stored (`oauth2_authorizations.state_hash`): its SHA-256, hex, so a database read cannot replay it. */
export function hashState(state: string): string {
  return crypto.createHash('sha256').update(state, 'utf8').digest('hex');
}
