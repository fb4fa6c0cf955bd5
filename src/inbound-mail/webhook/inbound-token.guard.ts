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

/** The message of a 401 for a missing or wrong inbound token. */
export const TOKEN_REQUIRED = 'a valid inbound token is required (Authorization: Bearer <INBOUND_TOKEN> or ?token=)';

/** True where the call carries the inbound token: `Authorization: Bearer <token>` or `?token=`. */
export function inboundTokenValid(
  headers: Record<string, string | string[] | undefined>,
  query: unknown,
  expected: string | undefined,
): boolean {
  const authorization = headers.authorization;
  const header = typeof authorization === 'string' ? authorization : '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  const token = (query as { token?: unknown } | undefined)?.token;
  const given = bearer ?? (typeof token === 'string' ? token : undefined);
  return !!given && !!expected && safeEqual(given, expected);
}

/**
 * The webhook's own authentication: `Authorization: Bearer <INBOUND_TOKEN>` or `?token=`; with
 * INBOUND_HMAC_SECRET set, also a fresh HMAC signature of the body (see webhook-signature.ts).
 * The webhook gate (webhook-gate.ts) checks the token before the body is read and the body parser
 * the signature before the body is parsed; this guard checks both again (a call without a parsed
 * body is signed over no bytes).
 */
@Injectable()
export class InboundTokenGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      query: Record<string, unknown>;
      rawBody?: Buffer;
      webhookSignatureChecked?: boolean;
    }>();
    if (!inboundTokenValid(req.headers, req.query, this.config.inbound.token)) {
      throw new UnauthorizedException(TOKEN_REQUIRED);
    }
    const secret = this.config.inbound.hmacSecret;
    if (secret && !req.webhookSignatureChecked) {
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
