import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECRET_FILE_MODE, writeAtomically } from '../common/atomic-file';
import type { AppConfig } from './config';

interface StoredSecrets {
  inboundToken?: string;
  jwtSecret?: string;
}

export interface ResolvedSecrets {
  /**
   * True only when this start generated the inbound token (the first start on this DATA_DIR): it
   * is printed then, once. A token read back from secrets.json, or given by the environment, is
   * never printed.
   */
  inboundTokenGenerated: boolean;
  /** Problems to log once the logger is up (a secrets.json others could read, now tightened). */
  warnings: string[];
}

/** How many times a creation that lost the race to another instance reads the winner's file and tries again. */
const CREATE_ATTEMPTS = 5;

function readStored(file: string): StoredSecrets | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredSecrets;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Fills `INBOUND_TOKEN` and `JWT_SECRET` when the environment leaves them unset: generated once and
 * kept in DATA_DIR/secrets.json so tokens survive a restart.
 *
 * The file is read at every start and written only when a secret is missing from it: atomically
 * (common/atomic-file.ts: a 0600 temporary file renamed into place), so a crash never leaves it half
 * written and it is never readable by others, even for a moment. Its first creation is
 * exclusive: instances sharing a DATA_DIR (docker-compose) that start together all end up with
 * the secrets of the one that created it. An existing file readable or writable by group or others
 * is tightened to 0600 with a warning (it held the secrets; the warning says to rotate them if
 * others could read it).
 */
export function resolveSecrets(config: AppConfig): ResolvedSecrets {
  const warnings: string[] = [];
  if (config.inbound.token && config.auth.jwtSecret) return { inboundTokenGenerated: false, warnings };
  const file = path.join(config.dataDir, 'secrets.json');
  fs.mkdirSync(config.dataDir, { recursive: true });
  let generatedToken: boolean;
  for (let attempt = 1; ; attempt++) {
    const existing = readStored(file);
    if (existing) {
      const mode = fs.statSync(file).mode & 0o777;
      if (mode & 0o077) {
        fs.chmodSync(file, SECRET_FILE_MODE);
        warnings.push(
          `${file} was open to other users (mode 0${mode.toString(8)}): set to 0600; rotate the secrets in it if others could read it`,
        );
      }
    }
    const stored: StoredSecrets = { ...existing };
    generatedToken = !stored.inboundToken && !config.inbound.token;
    stored.inboundToken ||= crypto.randomBytes(24).toString('base64url');
    stored.jwtSecret ||= crypto.randomBytes(32).toString('base64url');
    const missing =
      !existing || existing.inboundToken !== stored.inboundToken || existing.jwtSecret !== stored.jwtSecret;
    if (!missing) break;
    if (writeAtomically(file, JSON.stringify(stored, null, 2) + '\n', existing !== undefined)) break;
    // Another instance created the file first: take its secrets.
    if (attempt >= CREATE_ATTEMPTS) throw new Error(`could not create ${file}`);
  }
  const stored = readStored(file) ?? {};
  config.inbound.token ??= stored.inboundToken;
  config.auth.jwtSecret ??= stored.jwtSecret;
  return { inboundTokenGenerated: generatedToken && config.inbound.token === stored.inboundToken, warnings };
}

/**
 * The inbound token kept in DATA_DIR/secrets.json, read only (never generated): for clients of the
 * server on the same machine, such as `maildesk mailgate`. Undefined when there is no such file or
 * token yet; throws when the file exists but cannot be read (permissions: it is mode 0600).
 */
export function storedInboundToken(dataDir: string): string | undefined {
  return readStored(path.join(dataDir, 'secrets.json'))?.inboundToken || undefined;
}
