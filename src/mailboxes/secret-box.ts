import * as crypto from 'node:crypto';

/**
 * Secrets at rest (mailbox passwords, OAuth2 client secrets and tokens): AES-256-GCM with a random
 * 12-byte IV and its 16-byte authentication tag, written as
 * `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). `keyId` names the key that sealed the
 * value (a short hash of the key, which tells nothing of it), so several keys can be in use at
 * once: a key ring seals with its first key and opens with any. No message here ever holds a key
 * or a plain value.
 */

/** The version prefix of a sealed value. */
export const SEALED_VERSION = 'v1';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that cannot be opened (unknown key, tampered, not a sealed value); names the key id, never the value. */
export class SecretBoxError extends Error {
  constructor(
    message: string,
    /** The id of the key the value names, when it names one. */
    readonly keyId: string | null,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** The id of a key: 8 base64url characters of its SHA-256 (one-way; tells nothing of the key). */
export function keyIdOf(key: Buffer): string {
  return crypto.createHash('sha256').update('maildesk-secret-box:').update(key).digest('base64url').slice(0, 8);
}

/** A fresh random key. */
export function generateKey(): Buffer {
  return crypto.randomBytes(KEY_BYTES);
}

/** A key as written in ENCRYPTION_KEY and DATA_DIR/encryption.key: 64 hex characters. */
export function formatKey(key: Buffer): string {
  return key.toString('hex');
}

/**
 * One key from its text: 64 hex characters, or base64 / base64url of 32 bytes. Throws an Error that
 * says what is wrong without repeating the text.
 */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) {
    const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new Error('an encryption key must be 32 bytes, written as 64 hex characters or in base64');
}

/** A comma-separated list of keys (ENCRYPTION_KEY); the first seals. Throws naming the position of a bad one. */
export function parseKeyList(text: string): Buffer[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) throw new Error('no encryption key given');
  return parts.map((part, i) => {
    try {
      return parseKey(part);
    } catch (e) {
      throw new Error(`key ${i + 1} of ${parts.length}: ${(e as Error).message}`, { cause: e });
    }
  });
}

/** The key id a sealed value names, or null when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === SEALED_VERSION ? parts[1] : null;
}

/** Seals `plain` with `key`. */
export function sealWith(key: Buffer, plain: string): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    SEALED_VERSION,
    keyIdOf(key),
    iv.toString('base64url'),
    tag.toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

/** Opens a value sealed with `key` (its key id already matched); throws SecretBoxError when it was altered. */
export function openWith(key: Buffer, sealed: string): string {
  const [, keyId, ivText, tagText, ctText] = sealed.split('.');
  const iv = Buffer.from(ivText ?? '', 'base64url');
  const tag = Buffer.from(tagText ?? '', 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new SecretBoxError(`a secret sealed with key ${keyId} is malformed`, keyId);
  }
  try {
    const decipher = crypto.createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctText ?? '', 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretBoxError(
      `a secret sealed with key ${keyId} failed its integrity check (altered or corrupt)`,
      keyId,
    );
  }
}

/** Several keys: the first seals, any opens the values it sealed. */
export class KeyRing {
  private readonly byId: Map<string, Buffer>;

  constructor(readonly keys: readonly Buffer[]) {
    if (!keys.length) throw new Error('a key ring needs at least one key');
    for (const key of keys) if (key.length !== KEY_BYTES) throw new Error('an encryption key must be 32 bytes');
    this.byId = new Map(keys.map((k) => [keyIdOf(k), k]));
  }

  /** The id of the key that seals. */
  get sealingKeyId(): string {
    return keyIdOf(this.keys[0]);
  }

  /** The ids of every key, the sealing one first. */
  get ids(): string[] {
    return this.keys.map(keyIdOf);
  }

  has(keyId: string): boolean {
    return this.byId.has(keyId);
  }

  seal(plain: string): string {
    return sealWith(this.keys[0], plain);
  }

  /** The plain value; SecretBoxError when no key of the ring sealed it, or it was altered. */
  open(sealed: string): string {
    const keyId = sealedKeyId(sealed);
    if (keyId === null) throw new SecretBoxError('a stored secret is not a sealed value', null);
    const key = this.byId.get(keyId);
    if (!key) {
      throw new SecretBoxError(
        `a secret is sealed with key ${keyId}, which is not among the encryption keys (${this.ids.join(', ')}): ` +
          'add it to ENCRYPTION_KEY or DATA_DIR/encryption.key',
        keyId,
      );
    }
    return openWith(key, sealed);
  }
}
