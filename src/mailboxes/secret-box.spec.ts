import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  formatKey,
  generateKey,
  KeyRing,
  keyIdOf,
  parseKey,
  parseKeyList,
  SecretBoxError,
  sealedKeyId,
} from './secret-box';
import { keyFilePath, readKeyFile, resolveKeyRing, SecretBoxService, writeKeyFile } from './secret-box.service';

describe('secret box', () => {
  const a = generateKey();
  const b = generateKey();

  it('opens what it sealed, in the v1.<keyId>.<iv>.<tag>.<ciphertext> form', () => {
    const ring = new KeyRing([a]);
    const sealed = ring.seal('pässwörd ✓');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(sealedKeyId(sealed)).toBe(keyIdOf(a));
    expect(sealed).not.toContain('pässwörd');
    expect(ring.open(sealed)).toBe('pässwörd ✓');
    expect(ring.open(ring.seal(''))).toBe('');
  });

  it('seals the same value differently each time (random IV)', () => {
    const ring = new KeyRing([a]);
    expect(ring.seal('x')).not.toBe(ring.seal('x'));
  });

  it('detects any change to the IV, tag or ciphertext', () => {
    const ring = new KeyRing([a]);
    const parts = ring.seal('secret value').split('.');
    for (const i of [2, 3, 4]) {
      const changed = [...parts];
      const bytes = Buffer.from(changed[i], 'base64url');
      bytes[0] ^= 1;
      changed[i] = bytes.toString('base64url');
      expect(() => ring.open(changed.join('.'))).toThrow(SecretBoxError);
    }
    expect(() => ring.open('v1.' + keyIdOf(a) + '.x.y.z')).toThrow(/malformed/);
    expect(() => ring.open('plain text')).toThrow(/not a sealed value/);
  });

  it('refuses a value sealed with a key it does not hold, naming the key id and never the value', () => {
    const sealed = new KeyRing([b]).seal('hunter2-password');
    let error: SecretBoxError | undefined;
    try {
      new KeyRing([a]).open(sealed);
    } catch (e) {
      error = e as SecretBoxError;
    }
    expect(error).toBeInstanceOf(SecretBoxError);
    expect(error!.keyId).toBe(keyIdOf(b));
    expect(error!.message).toContain(keyIdOf(b));
    expect(error!.message).not.toContain('hunter2');
    expect(error!.message).not.toContain(formatKey(a));
  });

  it('a ring seals with its first key and opens with any', () => {
    const old = new KeyRing([a]).seal('old');
    const ring = new KeyRing([b, a]);
    expect(ring.open(old)).toBe('old');
    expect(sealedKeyId(ring.seal('new'))).toBe(keyIdOf(b));
    expect(ring.sealingKeyId).toBe(keyIdOf(b));
    expect(ring.ids).toEqual([keyIdOf(b), keyIdOf(a)]);
  });

  it('reads keys as 64 hex characters or base64, and says what is wrong without the value', () => {
    expect(parseKey(formatKey(a)).equals(a)).toBe(true);
    expect(parseKey(a.toString('base64')).equals(a)).toBe(true);
    expect(parseKey(a.toString('base64url')).equals(a)).toBe(true);
    expect(() => parseKey('too-short-key')).toThrow('32 bytes');
    expect(parseKeyList(`${formatKey(b)}, ${formatKey(a)}`).map(keyIdOf)).toEqual([keyIdOf(b), keyIdOf(a)]);
    let message = '';
    try {
      parseKeyList(`${formatKey(a)},not-a-key-at-all-xyz`);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/key 2 of 2/);
    expect(message).not.toContain('not-a-key-at-all');
  });
});

describe('the key ring of a deployment', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-keys-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('uses ENCRYPTION_KEY when set, and writes no file', () => {
    const key = generateKey();
    const r = resolveKeyRing({ dataDir: dir, encryption: { keys: [formatKey(key)] } });
    expect(r.source).toEqual({ kind: 'environment' });
    expect(r.ring.sealingKeyId).toBe(keyIdOf(key));
    expect(fs.existsSync(keyFilePath(dir))).toBe(false);
  });

  it('generates DATA_DIR/encryption.key once, mode 0600, and reads it back', () => {
    const first = resolveKeyRing({ dataDir: dir, encryption: { keys: undefined } });
    expect(first.created).toBe(true);
    expect(fs.statSync(keyFilePath(dir)).mode & 0o777).toBe(0o600);
    const again = resolveKeyRing({ dataDir: dir, encryption: { keys: undefined } });
    expect(again.created).toBe(false);
    expect(again.ring.sealingKeyId).toBe(first.ring.sealingKeyId);
  });

  it('tightens a key file others could read, with a warning', () => {
    writeKeyFile(keyFilePath(dir), [generateKey()], false);
    fs.chmodSync(keyFilePath(dir), 0o644);
    const r = resolveKeyRing({ dataDir: dir, encryption: { keys: undefined } });
    expect(r.warnings[0]).toMatch(/open to other users/);
    expect(fs.statSync(keyFilePath(dir)).mode & 0o777).toBe(0o600);
  });

  it('a running instance picks up a rotated key file: opens the re-sealed values and seals with the new key', () => {
    const box = new SecretBoxService({ dataDir: dir, encryption: { keys: undefined } });
    const [old] = readKeyFile(keyFilePath(dir))!;
    const before = box.seal('x');
    const fresh = generateKey();
    writeKeyFile(keyFilePath(dir), [fresh, old], true);
    const resealed = new KeyRing([fresh]).seal('re-sealed');
    expect(box.open(resealed)).toBe('re-sealed');
    expect(box.open(before)).toBe('x');
    expect(sealedKeyId(box.seal('y'))).toBe(keyIdOf(fresh));
  });
});
