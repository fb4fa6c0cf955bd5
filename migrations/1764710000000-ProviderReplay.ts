import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Mail providers' webhooks (issue 19): the signed tokens already seen, so a captured Mailgun call
 * is not accepted twice (its signature covers the timestamp and the token, not the body).
 *
 * - `provider_replay_tokens`: one row per (provider, token); `body_sha256` is the hash of the call's
 *   fields, so a retry of the same call (the desk answered 503) is told from a replay with another
 *   body; `done` once the mail was stored (any result). Rows older than the freshness window are
 *   of no use (an older timestamp is refused anyway) and are deleted as new ones come in.
 */
export class ProviderReplay1764710000000 implements MigrationInterface {
  name = 'ProviderReplay1764710000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE provider_replay_tokens (
        provider    text NOT NULL,
        token       text NOT NULL CHECK (length(token) BETWEEN 1 AND 512),
        body_sha256 text NOT NULL,
        done        boolean NOT NULL DEFAULT false,
        seen_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, token)
      )`);
    await q.query(`CREATE INDEX provider_replay_tokens_seen_idx ON provider_replay_tokens (seen_at)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE provider_replay_tokens`);
  }
}
