import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthOperator } from '../common/auth.decorators';
import { type ApiToken, ApiTokensRepository, type ApiTokenScope, type ApiTokensStore } from './api-tokens.repository';

/** How every API token starts (a login's JWT starts with `eyJ`): the guard tells them apart by it. */
export const API_TOKEN_MARK = 'mdt_';
/** Most live (not revoked, not expired) tokens one operator may hold. */
export const MAX_API_TOKENS = 50;
/** How far ahead an expiry may be (days): a token that must live longer is a token without expiry. */
export const MAX_API_TOKEN_DAYS = 2 * 365;
/** The earliest expiry accepted (seconds from now): a token that expires at once is a mistake. */
export const MIN_API_TOKEN_SECONDS = 60;

/** `mdt_<prefix: 8 base64url>_<secret: 43 base64url, 256 bits>`. */
const TOKEN_SHAPE = /^mdt_([A-Za-z0-9_-]{8})_([A-Za-z0-9_-]{43})$/;

/** A new token: the string shown once, its public prefix and the hash stored. */
export interface NewApiToken {
  token: string;
  prefix: string;
  hash: string;
}

/** Draws a token: 48 random bits of public prefix (finds the row) and 256 of secret. */
export function newApiToken(): NewApiToken {
  const prefix = randomBytes(6).toString('base64url');
  const token = `${API_TOKEN_MARK}${prefix}_${randomBytes(32).toString('base64url')}`;
  return { token, prefix, hash: hashApiToken(token) };
}

/** The prefix of a well-formed token, or null (then it is refused without a lookup). */
export function apiTokenPrefix(token: string): string | null {
  return TOKEN_SHAPE.exec(token)?.[1] ?? null;
}

/** Whether a bearer value is meant as an API token (rather than a login's JWT). */
export function isApiToken(bearer: string): boolean {
  return bearer.startsWith(API_TOKEN_MARK);
}

/**
 * The stored form of a token: SHA-256, hex. Fast on purpose: the token holds 256 random bits, so a
 * leaked hash gives nothing to guess at, and the check runs on every call.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `token` hashes to `storedHash`, compared in constant time. */
export function apiTokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What `create` needs. */
export interface ApiTokenRequest {
  name: string;
  scope?: ApiTokenScope;
  /** ISO 8601; absent or null: the token does not expire. */
  expiresAt?: string | null;
}

/** A token just made: its record and the secret string, shown this once. */
export interface CreatedApiToken extends ApiToken {
  token: string;
}

/** Methods a read-only token may call. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Personal access tokens: an operator's long-lived credential for scripts and tools (as
 * `Authorization: Bearer mdt_...`), made and revoked with a login session. A token acts as its
 * operator as they are now (role, groups: read on every call); it stops at once when revoked,
 * expired, or when the operator is deactivated or changes password.
 */
@Injectable()
export class ApiTokensService {
  constructor(@Inject(ApiTokensRepository) private readonly tokens: ApiTokensStore) {}

  /**
   * Makes a token for `actor`; 400 for an expiry in the past, sooner than a minute or later than
   * two years; 409 when they hold MAX_API_TOKENS live tokens; 403 when called with an API token.
   */
  async create(actor: AuthOperator, input: ApiTokenRequest, now = new Date()): Promise<CreatedApiToken> {
    this.needLogin(actor);
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt) {
      if (Number.isNaN(expiresAt.getTime())) throw new BadRequestException('expiresAt must be an ISO 8601 date-time');
      if (expiresAt.getTime() < now.getTime() + MIN_API_TOKEN_SECONDS * 1000) {
        throw new BadRequestException('expiresAt must be at least a minute in the future');
      }
      if (expiresAt.getTime() > now.getTime() + MAX_API_TOKEN_DAYS * 86_400_000) {
        throw new BadRequestException(
          `expiresAt must be at most ${MAX_API_TOKEN_DAYS} days ahead (leave it out for no expiry)`,
        );
      }
    }
    // A prefix is 48 random bits: a clash is unlikely, and drawing again settles it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const drawn = newApiToken();
      const result = await this.tokens.insert(
        {
          operatorId: actor.id,
          name: input.name,
          prefix: drawn.prefix,
          tokenHash: drawn.hash,
          scope: input.scope ?? 'write',
          expiresAt,
        },
        MAX_API_TOKENS,
      );
      if (result === 'limit') {
        throw new ConflictException(`you hold ${MAX_API_TOKENS} tokens already: revoke one first`);
      }
      if (result === 'gone') throw new UnauthorizedException('token is no longer valid');
      if (result !== 'taken') return { ...result, token: drawn.token };
    }
    throw new Error('could not draw an unused API token prefix');
  }

  /**
   * The tokens of `operatorId` (default: the actor's own) that are not revoked; another operator's
   * are the admins' to see (403 otherwise).
   */
  async list(actor: AuthOperator, operatorId?: number): Promise<ApiToken[]> {
    this.needLogin(actor);
    const owner = operatorId ?? actor.id;
    if (owner !== actor.id && actor.role !== 'admin') {
      throw new ForbiddenException("only admins see other operators' tokens");
    }
    return this.tokens.listOf(owner);
  }

  /** Revokes a token, at once: the actor's own, or anyone's for an admin; 404 otherwise (or unknown, or revoked). */
  async revoke(actor: AuthOperator, id: number): Promise<void> {
    this.needLogin(actor);
    const token = await this.tokens.findLive(id);
    if (!token || (token.operatorId !== actor.id && actor.role !== 'admin')) {
      throw new NotFoundException(`token ${id} not found`);
    }
    if (!(await this.tokens.revoke(id))) throw new NotFoundException(`token ${id} not found`);
  }

  /**
   * The operator an API token stands for, for a call with `method` from `ip`: 401 when the token is
   * malformed, unknown, wrong, revoked or expired or its operator deactivated (or their password
   * changed since); 403 for a read-only token on a method other than GET or HEAD. Records the use
   * (at most once a minute per token). No cache: one indexed lookup, so a revocation on any
   * instance applies to the next call everywhere.
   */
  async authenticate(token: string, method: string, ip: string): Promise<AuthOperator> {
    const prefix = apiTokenPrefix(token);
    const found = prefix ? await this.tokens.authenticate(prefix) : null;
    if (!found || !apiTokenMatches(token, found.tokenHash)) {
      throw new UnauthorizedException('invalid, expired or revoked API token');
    }
    if (found.scope === 'read' && !READ_METHODS.has(method.toUpperCase())) {
      throw new ForbiddenException('this API token is read-only: it may make GET and HEAD calls only');
    }
    if (found.stale) await this.tokens.touch(found.tokenId, ip);
    return { ...found.operator, apiToken: { id: found.tokenId, scope: found.scope } };
  }

  /** Tokens are made, listed and revoked with a login session: a token cannot extend or hide itself. */
  private needLogin(actor: AuthOperator): void {
    if (actor.apiToken) {
      throw new ForbiddenException('managing API tokens needs a login session (POST /auth/login), not an API token');
    }
  }
}
