import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** The statements of provider_replay_tokens (written to provider-replay.repository.sql by `npm run sql`). */
export const SQL = {
  /** The token's row as it now is: new (`fresh`), or the one a former call left. */
  claim: `WITH fresh AS (
         INSERT INTO provider_replay_tokens (provider, token, body_sha256) VALUES ($1, $2, $3)
         ON CONFLICT (provider, token) DO NOTHING
         RETURNING body_sha256, done, true AS fresh
       )
       SELECT body_sha256, done, fresh FROM fresh
       UNION ALL
       SELECT body_sha256, done, false AS fresh FROM provider_replay_tokens
        WHERE provider = $1 AND token = $2 AND NOT EXISTS (SELECT 1 FROM fresh)`,
  /** The mail of the token's call was stored (any result). */
  complete: `UPDATE provider_replay_tokens SET done = true WHERE provider = $1 AND token = $2`,
  /** Tokens older than the freshness window: their calls are refused by their timestamp anyway. */
  prune: `DELETE FROM provider_replay_tokens WHERE seen_at < now() - make_interval(secs => $1)`,
} as const;

/** What a token's claim found. */
export type ReplayClaim =
  /** First seen now. */
  | 'fresh'
  /** Seen with the same body, and its mail not stored yet (a retry after a failure): go on. */
  | 'retry'
  /** Seen with the same body and its mail stored, or with another body: a replay. */
  | 'replay';

/** The replay memory as the provider webhooks use it (ProviderInboundService; an in-memory fake in unit tests). */
export interface ReplayStore {
  /** Claims `token` of `provider` for a call whose body hashes to `bodySha256`. */
  claim(provider: string, token: string, bodySha256: string): Promise<ReplayClaim>;
  /** Marks the token's mail stored: the same call again is a replay. */
  complete(provider: string, token: string): Promise<void>;
  /** Forgets tokens seen more than `seconds` ago. */
  prune(seconds: number): Promise<void>;
}

/** Signed tokens already seen (table provider_replay_tokens), shared by every instance. */
@Injectable()
export class ProviderReplayRepository implements ReplayStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async claim(provider: string, token: string, bodySha256: string): Promise<ReplayClaim> {
    const rows = await this.dataSource.query<Array<{ body_sha256: string; done: boolean; fresh: boolean }>>(SQL.claim, [
      provider,
      token,
      bodySha256,
    ]);
    const row = rows[0];
    // No row: the one that conflicted was pruned in between; the token is as good as new.
    if (!row || row.fresh) return 'fresh';
    return row.body_sha256 === bodySha256 && !row.done ? 'retry' : 'replay';
  }

  async complete(provider: string, token: string): Promise<void> {
    await this.dataSource.query(SQL.complete, [provider, token]);
  }

  async prune(seconds: number): Promise<void> {
    await this.dataSource.query(SQL.prune, [seconds]);
  }
}
