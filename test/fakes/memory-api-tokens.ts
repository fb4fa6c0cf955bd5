import {
  type ApiToken,
  type ApiTokenIdentity,
  type ApiTokenRow,
  type ApiTokensStore,
  LAST_USE_EVERY_SECONDS,
} from '../../src/operators/api-tokens.repository';
import type { OperatorRole } from '../../src/operators/operator.entity';

/** An operator as the fake sees it. */
export interface FakeOperator {
  id: number;
  role: OperatorRole;
  active: boolean;
  tokenVersion: number;
  groupIds: number[];
}

/**
 * ApiTokensStore in memory, with the table's rules (unique prefix and hash, live tokens only,
 * the operator's token version), for the unit tests of the token rules. `now` is settable.
 */
export class MemoryApiTokens implements ApiTokensStore {
  readonly operators = new Map<number, FakeOperator>();
  readonly rows = new Map<number, ApiToken & { tokenHash: string; version: number; revokedAt: Date | null }>();
  touches = 0;
  now = new Date('2026-12-01T12:00:00Z');
  private nextId = 1;

  private live(r: { revokedAt: Date | null; expiresAt: Date | null }): boolean {
    return !r.revokedAt && (!r.expiresAt || r.expiresAt > this.now);
  }

  authenticate(prefix: string): Promise<ApiTokenIdentity | null> {
    const r = [...this.rows.values()].find((t) => t.prefix === prefix);
    const o = r && this.operators.get(r.operatorId);
    if (!r || !o || !this.live(r) || !o.active || o.tokenVersion !== r.version) return Promise.resolve(null);
    return Promise.resolve({
      tokenId: r.id,
      tokenHash: r.tokenHash,
      scope: r.scope,
      stale: !r.lastUsedAt || r.lastUsedAt.getTime() < this.now.getTime() - LAST_USE_EVERY_SECONDS * 1000,
      operator: { id: o.id, email: `op${o.id}@desk.test`, name: `Op ${o.id}`, role: o.role, groupIds: o.groupIds },
    });
  }

  touch(tokenId: number, ip: string): Promise<void> {
    const r = this.rows.get(tokenId)!;
    if (!r.lastUsedAt || r.lastUsedAt.getTime() < this.now.getTime() - LAST_USE_EVERY_SECONDS * 1000) {
      r.lastUsedAt = this.now;
      r.lastUsedIp = ip;
      this.touches++;
    }
    return Promise.resolve();
  }

  insert(row: ApiTokenRow, max: number): Promise<ApiToken | 'limit' | 'taken' | 'gone'> {
    const o = this.operators.get(row.operatorId);
    if (!o?.active) return Promise.resolve('gone');
    const held = [...this.rows.values()].filter((r) => r.operatorId === row.operatorId && this.live(r)).length;
    if (held >= max) return Promise.resolve('limit');
    if ([...this.rows.values()].some((r) => r.prefix === row.prefix || r.tokenHash === row.tokenHash)) {
      return Promise.resolve('taken');
    }
    const id = this.nextId++;
    const token = {
      id,
      operatorId: row.operatorId,
      name: row.name,
      prefix: row.prefix,
      scope: row.scope,
      expiresAt: row.expiresAt,
      lastUsedAt: null,
      lastUsedIp: null,
      createdAt: this.now,
    };
    this.rows.set(id, { ...token, tokenHash: row.tokenHash, version: o.tokenVersion, revokedAt: null });
    return Promise.resolve(token);
  }

  listOf(operatorId: number): Promise<ApiToken[]> {
    return Promise.resolve(
      [...this.rows.values()]
        .filter((r) => r.operatorId === operatorId && !r.revokedAt)
        .sort((a, b) => b.id - a.id)
        .map((r) => this.public(r)),
    );
  }

  findLive(id: number): Promise<ApiToken | null> {
    const r = this.rows.get(id);
    return Promise.resolve(r && !r.revokedAt ? this.public(r) : null);
  }

  revoke(id: number): Promise<boolean> {
    const r = this.rows.get(id);
    if (!r || r.revokedAt) return Promise.resolve(false);
    r.revokedAt = this.now;
    return Promise.resolve(true);
  }

  private public(r: ApiToken): ApiToken {
    const { id, operatorId, name, prefix, scope, expiresAt, lastUsedAt, lastUsedIp, createdAt } = r;
    return { id, operatorId, name, prefix, scope, expiresAt, lastUsedAt, lastUsedIp, createdAt };
  }
}
