import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** One blocked sender pattern. */
export interface BlockedPattern {
  id: number;
  /** `user@example.com` (one address), `@example.com` (one domain) or `*.example.com` (a domain and its subdomains). */
  pattern: string;
  kind: 'address' | 'domain' | 'subdomains';
  reason: string | null;
  createdBy: number | null;
  createdAt: Date;
}

const DOMAIN = /^(?=.{1,253}$)[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const LOCAL = /^[^\s@<>",;()[\]\\]{1,64}$/;

/** The kind of a normalized pattern. */
export function patternKind(pattern: string): BlockedPattern['kind'] {
  if (pattern.startsWith('*.')) return 'subdomains';
  return pattern.startsWith('@') ? 'domain' : 'address';
}

/** Lower-cases and checks a pattern; 400 for anything but an address, `@domain` or `*.domain`. */
export function normalizePattern(raw: string): string {
  const p = raw.trim().toLowerCase();
  const ok = p.startsWith('*.')
    ? DOMAIN.test(p.slice(2))
    : p.startsWith('@')
      ? DOMAIN.test(p.slice(1))
      : p.includes('@') && LOCAL.test(p.slice(0, p.lastIndexOf('@'))) && DOMAIN.test(p.slice(p.lastIndexOf('@') + 1));
  if (!ok)
    throw new BadRequestException(
      'pattern must be an address (spam@example.com), a domain (@example.com) or a domain with its subdomains (*.example.com)',
    );
  return p;
}

/** Every pattern that would block `address`: itself, its domain, and `*.` of the domain and each parent domain. */
export function candidatePatterns(address: string): string[] {
  const a = address.trim().toLowerCase();
  const at = a.lastIndexOf('@');
  if (at < 0) return [a];
  const labels = a.slice(at + 1).split('.');
  return [a, `@${labels.join('.')}`, ...labels.map((_, i) => `*.${labels.slice(i).join('.')}`)];
}

function fromRow(r: Record<string, unknown>): BlockedPattern {
  const pattern = r.pattern as string;
  return {
    id: Number(r.id),
    pattern,
    kind: patternKind(pattern),
    reason: (r.reason as string | null) ?? null,
    createdBy: r.created_by === null || r.created_by === undefined ? null : Number(r.created_by),
    createdAt: new Date(r.created_at as string | Date),
  };
}

/**
 * Blocked senders: admins list, add and remove patterns; the inbound pipeline asks `match` for
 * each sender (mail from a blocked sender is stored as `ignored` and opens nothing).
 */
@Injectable()
export class BlocklistService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Every pattern, oldest first. */
  async list(): Promise<BlockedPattern[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`SELECT * FROM blocklist ORDER BY id`);
    return rows.map(fromRow);
  }

  /** Adds a pattern; 409 when it is already listed. */
  async add(pattern: string, reason: string | null, operatorId: number | null): Promise<BlockedPattern> {
    const p = normalizePattern(pattern);
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `INSERT INTO blocklist (pattern, reason, created_by) VALUES ($1, $2, $3) ON CONFLICT (pattern) DO NOTHING RETURNING *`,
      [p, reason?.trim() || null, operatorId],
    );
    if (!rows[0]) throw new ConflictException(`${p} is already blocked`);
    return fromRow(rows[0]);
  }

  /** Removes a pattern; 404 when there is none with this id. */
  async remove(id: number): Promise<void> {
    const [, count]: [unknown, number] = await this.dataSource.query(`DELETE FROM blocklist WHERE id = $1`, [id]);
    if (!count) throw new NotFoundException(`blocklist entry ${id} does not exist`);
  }

  /** The most specific pattern blocking `address`, or null (in the caller's transaction when given). */
  async match(address: string, manager: EntityManager = this.dataSource.manager): Promise<BlockedPattern | null> {
    if (!address) return null;
    const rows: Record<string, unknown>[] = await manager.query(
      `SELECT * FROM blocklist WHERE pattern = ANY ($1) ORDER BY length(pattern) DESC LIMIT 1`,
      [candidatePatterns(address)],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }
}
