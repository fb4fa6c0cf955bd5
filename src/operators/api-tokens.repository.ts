import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../database/prepared';
import type { OperatorRole } from './operator.entity';

/** How often, at most, a token's last use is written (seconds): not on every call. */
export const LAST_USE_EVERY_SECONDS = 60;

const COLUMNS = `id, operator_id AS "operatorId", name, prefix, scope, expires_at AS "expiresAt",
       last_used_at AS "lastUsedAt", last_used_ip AS "lastUsedIp", created_at AS "createdAt"`;

/** The statements of personal access tokens (written to api-tokens.repository.sql by `npm run sql`). */
export const SQL = {
  /**
   * The lookup of every call made with an API token: the live token with prefix $1 (not revoked,
   * not expired, its operator active and of the same token version) and its operator now (role,
   * groups); `stale` when its last use should be written again.
   */
  authenticate: `SELECT t.id, t.token_hash, t.scope,
         t.last_used_at IS NULL OR t.last_used_at < now() - make_interval(secs => ${LAST_USE_EVERY_SECONDS}) AS stale,
         o.id AS operator_id, o.email, o.name, o.role,
         ARRAY(SELECT og.group_id FROM operator_groups og WHERE og.operator_id = o.id ORDER BY og.group_id) AS group_ids
       FROM api_tokens t JOIN operators o ON o.id = t.operator_id
       WHERE t.prefix = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
         AND o.active AND o.token_version = t.operator_token_version`,
  /** Records a use of token $1 from address $2, unless one was recorded in the last minute (by any instance). */
  touch: `UPDATE api_tokens SET last_used_at = now(), last_used_ip = $2
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => ${LAST_USE_EVERY_SECONDS}))`,
  /** The operator $1's row lock and token version (no row: no such active operator). */
  lockOperator: `SELECT token_version FROM operators WHERE id = $1 AND active FOR UPDATE`,
  /** How many tokens operator $1 holds that still work or could (not revoked, not expired). */
  countLive: `SELECT count(*)::int AS n FROM api_tokens
       WHERE operator_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
  /** A new token; no row when its prefix or hash is taken (a 48-bit prefix: the caller draws again). */
  insert: `INSERT INTO api_tokens (operator_id, name, prefix, token_hash, scope, operator_token_version, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT DO NOTHING
       RETURNING ${COLUMNS}`,
  /** Operator $1's tokens that are not revoked (expired ones included, with their date), newest first. */
  listOf: `SELECT ${COLUMNS} FROM api_tokens WHERE operator_id = $1 AND revoked_at IS NULL ORDER BY id DESC`,
  /** The token $1 unless revoked. */
  findLive: `SELECT ${COLUMNS} FROM api_tokens WHERE id = $1 AND revoked_at IS NULL`,
  /** Revokes token $1; no row when it is unknown or already revoked. */
  revoke: `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
} as const;

/** A token as its owner sees it: never its secret nor its hash. */
export interface ApiToken {
  id: number;
  operatorId: number;
  name: string;
  /** The public part after `mdt_`, to recognise the token. */
  prefix: string;
  scope: ApiTokenScope;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  createdAt: Date;
}

/** 'read': GET and HEAD calls only; 'write': every call the operator may make. */
export type ApiTokenScope = 'read' | 'write';

/** What a call's token lookup finds: the token's hash and scope and its operator now. */
export interface ApiTokenIdentity {
  tokenId: number;
  tokenHash: string;
  scope: ApiTokenScope;
  /** Its last use is older than LAST_USE_EVERY_SECONDS (or none): write it again. */
  stale: boolean;
  operator: { id: number; email: string; name: string; role: OperatorRole; groupIds: number[] };
}

/** A new token's row. */
export interface ApiTokenRow {
  operatorId: number;
  name: string;
  prefix: string;
  tokenHash: string;
  scope: ApiTokenScope;
  expiresAt: Date | null;
}

/** What the token rules need of storage (ApiTokensService; an in-memory fake in unit tests). */
export interface ApiTokensStore {
  /** The live token with this prefix and its active operator, or null. */
  authenticate(prefix: string): Promise<ApiTokenIdentity | null>;
  /** Records a use, unless one was recorded in the last LAST_USE_EVERY_SECONDS. */
  touch(tokenId: number, ip: string): Promise<void>;
  /**
   * Adds the token unless its operator (active) already holds `max` live tokens: 'limit' then,
   * 'taken' when its prefix or hash exists, 'gone' when the operator is not active.
   */
  insert(row: ApiTokenRow, max: number): Promise<ApiToken | 'limit' | 'taken' | 'gone'>;
  /** The operator's tokens that are not revoked, newest first. */
  listOf(operatorId: number): Promise<ApiToken[]>;
  /** The token unless revoked, or null. */
  findLive(id: number): Promise<ApiToken | null>;
  /** Whether the token was revoked now (false: unknown or already revoked). */
  revoke(id: number): Promise<boolean>;
}

/** The api_tokens table. */
@Injectable()
export class ApiTokensRepository implements ApiTokensStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One plain, prepared statement, as the login tokens' identity lookup (OperatorsRepository.activeIdentity). */
  async authenticate(prefix: string): Promise<ApiTokenIdentity | null> {
    const rows: Array<{
      id: number;
      token_hash: string;
      scope: ApiTokenScope;
      stale: boolean;
      operator_id: number;
      email: string;
      name: string;
      role: OperatorRole;
      group_ids: number[];
    }> = await preparedQuery(this.dataSource, SQL.authenticate, [prefix]);
    const row = rows[0];
    return row
      ? {
          tokenId: row.id,
          tokenHash: row.token_hash,
          scope: row.scope,
          stale: row.stale,
          operator: { id: row.operator_id, email: row.email, name: row.name, role: row.role, groupIds: row.group_ids },
        }
      : null;
  }

  async touch(tokenId: number, ip: string): Promise<void> {
    await this.dataSource.query(SQL.touch, [tokenId, ip.slice(0, 100)]);
  }

  async insert(row: ApiTokenRow, max: number): Promise<ApiToken | 'limit' | 'taken' | 'gone'> {
    return this.dataSource.transaction(async (manager) => {
      const operator: Array<{ token_version: number }> = await manager.query(SQL.lockOperator, [row.operatorId]);
      if (!operator.length) return 'gone' as const;
      const [{ n }]: Array<{ n: number }> = await manager.query(SQL.countLive, [row.operatorId]);
      if (n >= max) return 'limit' as const;
      const inserted: ApiToken[] = await manager.query(SQL.insert, [
        row.operatorId,
        row.name,
        row.prefix,
        row.tokenHash,
        row.scope,
        operator[0].token_version,
        row.expiresAt,
      ]);
      return inserted[0] ?? ('taken' as const);
    });
  }

  listOf(operatorId: number): Promise<ApiToken[]> {
    return this.dataSource.query(SQL.listOf, [operatorId]);
  }

  async findLive(id: number): Promise<ApiToken | null> {
    const rows: ApiToken[] = await this.dataSource.query(SQL.findLive, [id]);
    return rows[0] ?? null;
  }

  async revoke(id: number): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.dataSource.query(SQL.revoke, [id]);
    return rows.length > 0;
  }
}
