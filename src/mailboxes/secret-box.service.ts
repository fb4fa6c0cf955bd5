import { Inject, Injectable, Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECRET_FILE_MODE, writeAtomically } from '../common/atomic-file';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { formatKey, generateKey, KeyRing, parseKey, SecretBoxError } from './secret-box';

/** The file in DATA_DIR that holds the encryption keys when ENCRYPTION_KEY is unset. */
export const KEY_FILE = 'encryption.key';

const KEY_FILE_HEADER =
  '# MailDesk encryption keys: one a line, the first seals, every one opens. Keep it secret and back it up\n' +
  '# with the database: without it the stored mailbox passwords and tokens cannot be read.\n';

/** How many times a creation that lost the race to another instance reads the winner's file and tries again. */
const CREATE_ATTEMPTS = 5;

/** Where the encryption keys come from. */
export type KeySource = { kind: 'environment' } | { kind: 'file'; file: string };

/** The path of the key file of `dataDir`. */
export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, KEY_FILE);
}

/** The keys of a key file (comments and blank lines skipped), undefined when it does not exist. */
export function readKeyFile(file: string): Buffer[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return lines.map((line, i) => {
    try {
      return parseKey(line);
    } catch (e) {
      throw new Error(`${file}, key ${i + 1}: ${(e as Error).message}`, { cause: e });
    }
  });
}

/**
 * Writes the key file atomically, mode 0600 (common/atomic-file.ts): over the existing one
 * (`replace`), or only if none exists yet (false when another process created it first).
 */
export function writeKeyFile(file: string, keys: readonly Buffer[], replace: boolean): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return writeAtomically(file, KEY_FILE_HEADER + keys.map(formatKey).join('\n') + '\n', replace);
}

/**
 * The key ring: ENCRYPTION_KEY when set, else DATA_DIR/encryption.key, created with a new key the
 * first time (exclusively: instances sharing a DATA_DIR that start together all end up with the
 * key of the one that created it). A key file open to other users is tightened to 0600 (`warnings`).
 */
export function resolveKeyRing(config: Pick<AppConfig, 'dataDir' | 'encryption'>): {
  ring: KeyRing;
  source: KeySource;
  created: boolean;
  warnings: string[];
} {
  const warnings: string[] = [];
  if (config.encryption.keys) {
    return {
      ring: new KeyRing(config.encryption.keys.map(parseKey)),
      source: { kind: 'environment' },
      created: false,
      warnings,
    };
  }
  const file = keyFilePath(config.dataDir);
  let created = false;
  for (let attempt = 1; !fs.existsSync(file); attempt++) {
    if (writeKeyFile(file, [generateKey()], false)) {
      created = true;
      break;
    }
    if (attempt >= CREATE_ATTEMPTS) throw new Error(`could not create ${file}`);
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    fs.chmodSync(file, SECRET_FILE_MODE);
    warnings.push(
      `${file} was open to other users (mode 0${mode.toString(8)}): set to 0600; rotate the key if others could read it`,
    );
  }
  const keys = readKeyFile(file);
  if (!keys?.length) throw new Error(`${file} holds no key`);
  return { ring: new KeyRing(keys), source: { kind: 'file', file }, created, warnings };
}

/**
 * Seals and opens the secrets stored with the mailboxes (secret-box.ts), with the key ring of
 * ENCRYPTION_KEY or DATA_DIR/encryption.key. In the key file's case the file is read again when it
 * changed (a rotation by `maildesk rotate-encryption-key` on the shared DATA_DIR), so running
 * instances seal with the new key and open what was re-sealed with it without a restart.
 */
@Injectable()
export class SecretBoxService {
  private readonly logger = new Logger('Mailboxes');
  private ring: KeyRing;
  readonly source: KeySource;
  private fileStamp = 0;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'dataDir' | 'encryption'>) {
    const resolved = resolveKeyRing(config);
    this.ring = resolved.ring;
    this.source = resolved.source;
    if (resolved.source.kind === 'file') {
      this.fileStamp = this.stampOf(resolved.source.file);
      if (resolved.created) this.logger.log(`generated the encryption key in ${resolved.source.file}`);
    }
    for (const w of resolved.warnings) this.logger.warn(w);
  }

  /** The ring in use (read again first when the key file changed). */
  keyRing(): KeyRing {
    this.reloadIfChanged();
    return this.ring;
  }

  seal(plain: string): string {
    return this.keyRing().seal(plain);
  }

  /** The plain value; SecretBoxError (naming the key id, never the value) when no key opens it. */
  open(sealed: string): string {
    try {
      return this.keyRing().open(sealed);
    } catch (e) {
      // A key this instance has not read yet: the file may have been rotated a moment ago.
      if (e instanceof SecretBoxError && e.keyId && !this.ring.has(e.keyId) && this.reload()) {
        return this.ring.open(sealed);
      }
      throw e;
    }
  }

  sealOrNull(plain: string | null | undefined): string | null {
    return plain === null || plain === undefined ? null : this.seal(plain);
  }

  openOrNull(sealed: string | null | undefined): string | null {
    return sealed === null || sealed === undefined ? null : this.open(sealed);
  }

  private stampOf(file: string): number {
    try {
      const st = fs.statSync(file);
      return st.mtimeMs + st.ino + st.size;
    } catch {
      return 0;
    }
  }

  private reloadIfChanged(): void {
    if (this.source.kind !== 'file') return;
    if (this.stampOf(this.source.file) !== this.fileStamp) this.reload();
  }

  /** Reads the key file again; true when it gave a ring. */
  private reload(): boolean {
    if (this.source.kind !== 'file') return false;
    try {
      const stamp = this.stampOf(this.source.file);
      const keys = readKeyFile(this.source.file);
      if (!keys?.length) return false;
      this.ring = new KeyRing(keys);
      this.fileStamp = stamp;
      return true;
    } catch (e) {
      this.logger.warn(`could not read the encryption keys again: ${(e as Error).message}`);
      return false;
    }
  }
}
