import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthOperator, IS_PUBLIC, QUERY_TOKEN, ROLES } from '../common/auth.decorators';
import { AuthService } from './auth.service';

/**
 * The global guard: every route needs `Authorization: Bearer <accessToken>` unless marked
 * `@Public()`; `@Roles(...)` then restricts by role (403). Puts the operator on `req.operator`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; query?: unknown; operator?: AuthOperator }>();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const token = m?.[1] ?? this.queryToken(req.query, targets);
    if (!token) throw new UnauthorizedException('missing bearer token: log in with POST /auth/login');
    const operator = await this.auth.authenticate(token);
    req.operator = operator;
    const roles = this.reflector.getAllAndOverride<Array<AuthOperator['role']> | undefined>(ROLES, targets);
    if (roles?.length && !roles.includes(operator.role)) {
      throw new ForbiddenException(`this action needs the role ${roles.join(' or ')}`);
    }
    return true;
  }

  /** The `access_token` query parameter, on the routes marked @AllowQueryToken() only. */
  private queryToken(query: unknown, targets: Parameters<Reflector['getAllAndOverride']>[1]): string | undefined {
    if (!this.reflector.getAllAndOverride<boolean>(QUERY_TOKEN, targets)) return undefined;
    const value = (query as Record<string, unknown> | undefined)?.access_token;
    return typeof value === 'string' && value.length > 0 && value.length <= 4096 ? value : undefined;
  }
}
