import { CanActivate, ExecutionContext, Inject, Injectable, Module, SetMetadata } from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { TooManyRequestsException } from './too-many-requests.exception';

const RATE_LIMIT = 'maildesk:rate-limit';
/** Buckets kept at most; expired ones are dropped first, then the oldest, so memory stays bounded. */
const MAX_BUCKETS = 100_000;

/**
 * The per-client-IP limits of this guard: `login` (POST /auth/login). The inbound webhook's limits
 * are checked before its body is read, in Fastify's onRequest hook (inbound-mail/webhook/webhook-gate.ts).
 */
export type RateLimitName = 'login';

/** Puts a route (or controller) under one of the per-IP rate limits; routes without it are not limited. */
export const RateLimit = (name: RateLimitName) => SetMetadata(RATE_LIMIT, name);

/** Counts hits per key in fixed windows, in memory (so per instance). */
export class FixedWindowCounter {
  private readonly buckets = new Map<string, { hits: number; resetAt: number }>();

  /** Counts a hit; returns 0 when it is within `limit`, else the seconds until the window ends. */
  hit(key: string, limit: number, windowMs: number, now = Date.now()): number {
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.resetAt <= now) {
      this.buckets.delete(key);
      if (this.buckets.size >= MAX_BUCKETS) this.prune(now);
      bucket = { hits: 0, resetAt: now + windowMs };
      this.buckets.set(key, bucket);
    }
    bucket.hits++;
    return bucket.hits <= limit ? 0 : Math.max(1, Math.ceil((bucket.resetAt - now) / 1000));
  }

  /** Like `hit` without counting: the seconds until the window ends when `limit` hits are used up, else 0. */
  peek(key: string, limit: number, now = Date.now()): number {
    const bucket = this.buckets.get(key);
    if (!bucket || bucket.resetAt <= now || bucket.hits < limit) return 0;
    return Math.max(1, Math.ceil((bucket.resetAt - now) / 1000));
  }

  private prune(now: number): void {
    for (const [k, v] of this.buckets) if (v.resetAt <= now) this.buckets.delete(k);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < MAX_BUCKETS) break;
      this.buckets.delete(k);
    }
  }
}

/**
 * The global rate-limit guard: a route marked `@RateLimit(name)` takes at most the configured number
 * of calls per minute per client IP, else 429 in the API's error shape with `Retry-After`. The client
 * is `req.ip`: the socket address, or X-Forwarded-For only from proxies named in TRUST_PROXY. It runs
 * before the routes' own guards.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly counter = new FixedWindowCounter();

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const name = this.reflector.getAllAndOverride<RateLimitName | undefined>(RATE_LIMIT, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!name) return true;
    const limit = this.config.rateLimit.loginPerMinute;
    if (!limit) return true;
    const req = context.switchToHttp().getRequest<{ ip?: string; socket?: { remoteAddress?: string } }>();
    const client = req.ip ?? req.socket?.remoteAddress ?? 'unknown';
    const wait = this.counter.hit(`${name}:${client}`, limit, 60_000);
    if (wait) {
      throw new TooManyRequestsException(
        `too many login attempts from this address (${limit} per minute); retry later`,
        wait,
      );
    }
    return true;
  }
}

/** Registers the rate-limit guard globally. */
@Module({ providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }] })
export class RateLimitModule {}
