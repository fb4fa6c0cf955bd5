import { CanActivate, ExecutionContext, Injectable, NotFoundException } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { type AuthOperator, IS_PUBLIC } from '../common/auth.decorators';
import { requestScope } from './request-scope';
import { RequestsService } from './requests.service';

/** A route under `/requests/:id` (`requests/:id`, `requests/:id/messages`, ...). */
const REQUEST_ROUTE = /^requests\/:id(\/|$)/;

/** The route path of a handler of a controller: `requests/:id/notes`. */
export function routePath(controllerPath: unknown, handlerPath: unknown): string {
  const first = (p: unknown): string => {
    const value: unknown = Array.isArray(p) ? p[0] : p;
    return typeof value === 'string' ? value : '';
  };
  return `${first(controllerPath)}/${first(handlerPath)}`.replace(/\/{2,}/g, '/').replace(/^\/+|\/+$/g, '');
}

/**
 * The backstop of the group scope (request-scope.ts), a global guard after AuthGuard: every route
 * under `/requests/:id`, including any added later, answers 404 to an operator in groups for a
 * request of another group, as for a missing one, before its handler runs. The services check the
 * scope themselves too (RequestsService.findVisible and the lifecycle, conversation and notes);
 * this guard makes a new route safe by default. Admins and operators in no group cost nothing here.
 */
@Injectable()
export class RequestScopeGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly requests: RequestsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const path = routePath(
      Reflect.getMetadata(PATH_METADATA, context.getClass()),
      Reflect.getMetadata(PATH_METADATA, context.getHandler()),
    );
    if (!REQUEST_ROUTE.test(path)) return true;
    const req = context.switchToHttp().getRequest<{ params?: Record<string, string>; operator?: AuthOperator }>();
    if (!req.operator) throw new Error('RequestScopeGuard must run after AuthGuard');
    if (requestScope(req.operator) === null) return true;
    const raw = req.params?.id ?? '';
    // A malformed id is left to ParseIdPipe's 400, the same for everyone.
    if (!/^\d{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > 2_147_483_647) return true;
    const id = Number(raw);
    if (!(await this.requests.findVisible(id, req.operator)))
      throw new NotFoundException(`request ${id} does not exist`);
    return true;
  }
}
