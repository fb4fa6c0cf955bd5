import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthOperator, IS_PUBLIC, QUERY_TOKEN, ROLES } from '../common/auth.decorators';
import { ApiTokensService, isApiToken } from './api-tokens.service';
import { AuthService } from './auth.service';

/**
 * The global guard: every route needs `Authorization: Bearer <accessToken>` (a login's JWT, or a
 * personal access token `mdt_...`: ApiTokensService, header only, never the query) unless marked
 * `@Public()`; `@Roles(...)` then restricts by role (403). Puts the operator on `req.operator`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly apiTokens: ApiTokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      query?: unknown;
      method: string;
      ip?: string;
      operator?: AuthOperator;
    }>();
    // The operator gate (operator-gate.ts) already checked the credentials of a call with a body.
    const operator = req.operator ?? (await this.authenticate(req, this.queryToken(req.query, targets)));
    req.operator = operator;
    const roles = this.reflector.getAllAndOverride<Array<AuthOperator['role']> | undefined>(ROLES, targets);
    if (roles?.length && !roles.includes(operator.role)) {
      throw new ForbiddenException(`this action needs the role ${roles.join(' or ')}`);
    }
    return true;
  }

  /**
   * The operator behind the call's `Authorization: Bearer` (a JWT or an API token), else behind
   * `queryToken`; 401 (403 for a read-only token's write) otherwise.
   */
  async authenticate(
    req: { headers: Record<string, string | string[] | undefined>; method: string; ip?: string },
    queryToken?: string,
  ): Promise<AuthOperator> {
    const authorization = req.headers.authorization;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(typeof authorization === 'string' ? authorization : '');
    const header = m?.[1];
    const token = header ?? queryToken;
    if (!token) throw new UnauthorizedException('missing bearer token: log in with POST /auth/login');
    return header && isApiToken(header)
      ? this.apiTokens.authenticate(header, req.method, req.ip ?? 'unknown')
      : this.auth.authenticate(token);
  }

  /** The `access_token` query parameter, on the routes marked @AllowQueryToken() only. */
  private queryToken(query: unknown, targets: Parameters<Reflector['getAllAndOverride']>[1]): string | undefined {
    if (!this.reflector.getAllAndOverride<boolean>(QUERY_TOKEN, targets)) return undefined;
    const value = (query as Record<string, unknown> | undefined)?.access_token;
    return typeof value === 'string' && value.length > 0 && value.length <= 4096 ? value : undefined;
  }
}
