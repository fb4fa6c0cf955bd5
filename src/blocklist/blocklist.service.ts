import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { isHostAddress, isHostName } from '../common/addresses';
import { BlocklistRepository, type BlocklistRow, type BlocklistStore } from './blocklist.repository';

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

/** The kind of a normalized pattern. */
export function patternKind(pattern: string): BlockedPattern['kind'] {
  if (pattern.startsWith('*.')) return 'subdomains';
  return pattern.startsWith('@') ? 'domain' : 'address';
}

/** Lower-cases and checks a pattern; 400 for anything but an address, `@domain` or `*.domain`. */
export function normalizePattern(raw: string): string {
  const p = raw.trim().toLowerCase();
  const ok = p.startsWith('*.')
    ? isHostName(p.slice(2))
    : p.startsWith('@')
      ? isHostName(p.slice(1))
      : isHostAddress(p);
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

function withKind(row: BlocklistRow): BlockedPattern {
  return { ...row, kind: patternKind(row.pattern) };
}

/**
 * Blocked senders: admins list, add and remove patterns; the inbound pipeline asks `match` for
 * each sender (mail from a blocked sender is stored as `ignored` and opens nothing).
 */
@Injectable()
export class BlocklistService {
  constructor(@Inject(BlocklistRepository) private readonly blocklist: BlocklistStore) {}

  /** Every pattern, oldest first. */
  async list(): Promise<BlockedPattern[]> {
    return (await this.blocklist.list()).map(withKind);
  }

  /** Adds a pattern; 409 when it is already listed. */
  async add(pattern: string, reason: string | null, operatorId: number | null): Promise<BlockedPattern> {
    const p = normalizePattern(pattern);
    const row = await this.blocklist.insert(p, reason?.trim() || null, operatorId);
    if (!row) throw new ConflictException(`${p} is already blocked`);
    return withKind(row);
  }

  /** Removes a pattern; 404 when there is none with this id. */
  async remove(id: number): Promise<void> {
    if (!(await this.blocklist.delete(id))) throw new NotFoundException(`blocklist entry ${id} does not exist`);
  }

  /** The most specific pattern blocking `address`, or null (in the caller's transaction when given). */
  async match(address: string, manager?: EntityManager): Promise<BlockedPattern | null> {
    if (!address) return null;
    const row = await this.blocklist.longestMatch(candidatePatterns(address), manager);
    return row ? withKind(row) : null;
  }
}
