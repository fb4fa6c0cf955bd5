import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Personal access tokens (issue 21 item 5): `api_tokens`, one row per token an operator made with
 * `POST /auth/tokens`.
 *
 * - The token is `mdt_<prefix>_<secret>`: `prefix` (8 base64url characters, public, unique) finds
 *   the row and names the token in lists; only `token_hash`, the SHA-256 of the whole token, is
 *   stored. A fast hash is right here, unlike for passwords: the secret is 256 random bits, so
 *   there is nothing to guess from a leaked hash, and a slow hash (argon2) would cost every API
 *   call tens of milliseconds for no gain.
 * - `scope` 'read' allows GET and HEAD only; 'write' everything the operator may do.
 * - `operator_token_version` is the operator's token_version at creation: deactivation or a
 *   password change (which bump it) ends the operator's API tokens as it ends their logins, for
 *   good (reactivation does not bring them back).
 * - Revoked tokens keep their row (`revoked_at`) for the record; expired and revoked ones are
 *   refused by the one lookup of every call.
 */
export class ApiTokens1764910000000 implements MigrationInterface {
  name = 'ApiTokens1764910000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_tokens (
        id                      serial PRIMARY KEY,
        operator_id             integer NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
        name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        prefix                  text NOT NULL CHECK (prefix ~ '^[A-Za-z0-9_-]{8}$'),
        token_hash              text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
        scope                   text NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write')),
        operator_token_version  integer NOT NULL,
        expires_at              timestamptz NULL,
        last_used_at            timestamptz NULL,
        last_used_ip            text NULL CHECK (length(last_used_ip) <= 100),
        created_at              timestamptz NOT NULL DEFAULT now(),
        revoked_at              timestamptz NULL
      )`);
    await q.query(`CREATE UNIQUE INDEX api_tokens_prefix_key ON api_tokens (prefix)`);
    await q.query(`CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash)`);
    await q.query(`CREATE INDEX api_tokens_operator_idx ON api_tokens (operator_id, id)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_tokens`);
  }
}
