import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import * as crypto from 'node:crypto';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { SIGNATURE_HEADER, signatureProblem, TIMESTAMP_HEADER } from './webhook-signature';

/** Equal strings, compared in constant time (digests first, so lengths leak nothing). */
export function safeEqual(a: string, b: string): boolean {
  const da = crypto.createHash('sha256').update(a).digest();
  const db = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(da, db);
}

/**
 * The webhook's own authentication: `Authorization: Bearer <INBOUND_TOKEN>` or `?token=`; with
 * INBOUND_HMAC_SECRET set, also a fresh HMAC signature of the raw body (see webhook-signature.ts).
 */
@Injectable()
export class InboundTokenGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; query: Record<string, unknown>; rawBody?: Buffer }>();
    const header = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    const query = typeof req.query?.token === 'string' ? req.query.token : undefined;
    const given = bearer ?? query;
    const expected = this.config.inbound.token;
    if (!given || !expected || !safeEqual(given, expected)) {
      throw new UnauthorizedException(
        'a valid inbound token is required (Authorization: Bearer <INBOUND_TOKEN> or ?token=)',
      );
    }
    const secret = this.config.inbound.hmacSecret;
    if (secret) {
      const problem = signatureProblem(
        secret,
        req.headers[TIMESTAMP_HEADER],
        req.headers[SIGNATURE_HEADER],
        req.rawBody ?? Buffer.alloc(0),
      );
      if (problem) throw new UnauthorizedException(problem);
    }
    return true;
  }
}
