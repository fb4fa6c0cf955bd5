import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AppConfig } from './config';

interface StoredSecrets {
  inboundToken?: string;
  jwtSecret?: string;
}

export interface ResolvedSecrets {
  /** True where the inbound token was generated now or earlier (not from the environment): it is printed at start. */
  inboundTokenGenerated: boolean;
}

/**
 * Fills `INBOUND_TOKEN` and `JWT_SECRET` when the environment leaves them unset: generated once and
 * kept in DATA_DIR/secrets.json (mode 0600) so tokens survive a restart.
 */
export function resolveSecrets(config: AppConfig): ResolvedSecrets {
  if (config.inbound.token && config.auth.jwtSecret) return { inboundTokenGenerated: false };
  const file = path.join(config.dataDir, 'secrets.json');
  let stored: StoredSecrets = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredSecrets;
  const generated = !config.inbound.token;
  stored.inboundToken ??= crypto.randomBytes(24).toString('base64url');
  stored.jwtSecret ??= crypto.randomBytes(32).toString('base64url');
  fs.mkdirSync(config.dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
  config.inbound.token ??= stored.inboundToken;
  config.auth.jwtSecret ??= stored.jwtSecret;
  return { inboundTokenGenerated: generated };
}
