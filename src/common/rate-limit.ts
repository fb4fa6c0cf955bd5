import { ExecutionContext, Injectable, Module, SetMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModule, ThrottlerOptions } from '@nestjs/throttler';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { TooManyRequestsException } from './too-many-requests.exception';

const RATE_LIMIT = 'maildesk:rate-limit';

/** The per-client-IP limits: `login` (POST /auth/login) and `webhook` (the inbound webhook routes). */
export type RateLimitName = 'login' | 'webhook';

/** Puts a route (or controller) under one of the per-IP rate limits; routes without it are not limited. */
export const RateLimit = (name: RateLimitName) => SetMetadata(RATE_LIMIT, name);

function limitOf(context: ExecutionContext): RateLimitName | undefined {
  return (Reflect.getMetadata(RATE_LIMIT, context.getHandler()) ?? Reflect.getMetadata(RATE_LIMIT, context.getClass())) as
    | RateLimitName
    | undefined;
}

/** The throttlers for one configuration: a fixed window of one minute per client IP; limit 0 = off. */
export function rateLimitThrottlers(config: AppConfig): ThrottlerOptions[] {
  const windows: Array<[RateLimitName, number]> = [
    ['login', config.rateLimit.loginPerMinute],
    ['webhook', config.rateLimit.webhookPerMinute],
  ];
  return windows.map(([name, limit]) => ({
    name,
    limit,
    ttl: 60_000,
    skipIf: (context: ExecutionContext) => limit === 0 || limitOf(context) !== name,
    // One bucket per limit and client, whichever route of the group is called.
    generateKey: (_context: ExecutionContext, tracker: string, throttler: string) => `${throttler}:${tracker}`,
  }));
}

/**
 * @nestjs/throttler's guard, answering in the API's error shape with a plain `Retry-After`. The client
 * is `req.ip`: the socket address, or X-Forwarded-For only from proxies named in TRUST_PROXY.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const what = limitOf(context) === 'login' ? 'login attempts' : 'webhook calls';
    throw new TooManyRequestsException(
      `too many ${what} from this address (${detail.limit} per minute); retry later`,
      Math.max(1, detail.timeToBlockExpire),
    );
  }
}

/** Registers the rate limits (in-memory, per instance) and their global guard. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ throttlers: rateLimitThrottlers(config), setHeaders: false }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
