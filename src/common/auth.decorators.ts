import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';

export const IS_PUBLIC = 'maildesk:public';
export const ROLES = 'maildesk:roles';
export const QUERY_TOKEN = 'maildesk:query-token';

/**
 * The key of Fastify's route config that marks a public route: the operator gate
 * (operators/operator-gate.ts) reads it before the body is parsed, where Nest's metadata is not at hand.
 */
export const PUBLIC_ROUTE_CONFIG = 'maildeskPublic';

/** Fastify's route config of a public route (Nest's adapter copies a handler's RouteConfig into it). */
const publicRoute = RouteConfig({ [PUBLIC_ROUTE_CONFIG]: true });

/**
 * Marks a route (or every route of a controller) as reachable without an operator token: Nest's
 * metadata for the guard, and the Fastify route config for the gate that checks credentials before
 * a body is read (on a controller, each of its methods is marked: Fastify knows handlers only).
 */
export const Public = (): ClassDecorator & MethodDecorator =>
  ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      SetMetadata(IS_PUBLIC, true)(target, key!, descriptor);
      publicRoute(target, key!, descriptor);
      return descriptor;
    }
    SetMetadata(IS_PUBLIC, true)(target as never);
    const proto = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && typeof method?.value === 'function') publicRoute(proto, name, method);
    }
    return undefined;
  }) as ClassDecorator & MethodDecorator;

/**
 * Lets a route also take the bearer token as the `access_token` query parameter: for a GET an
 * admin opens in a browser, which sends no Authorization header (GET /mailboxes/:id/oauth2/authorize).
 * The request log redacts it (logging/logger.module.ts, redactUrl); nginx logs paths without queries.
 */
export const AllowQueryToken = () => SetMetadata(QUERY_TOKEN, true);

/** Restricts a route to operators with one of these roles. */
export const Roles = (...roles: Array<'admin' | 'operator'>) => SetMetadata(ROLES, roles);

/** What the auth guard puts on the request after checking the bearer token. */
export interface AuthOperator {
  id: number;
  email: string;
  name: string;
  role: 'admin' | 'operator';
  /**
   * The groups (queues) the operator works in, read with the operator on every call (a change
   * applies from the next call). An operator in groups sees only those groups' requests; in none,
   * every request (admins see every request whatever their groups).
   */
  groupIds: number[];
  /**
   * Set when the call came with a personal access token (operators/api-tokens.service.ts) rather
   * than a login: its id and scope ('read': GET and HEAD only).
   */
  apiToken?: { id: number; scope: 'read' | 'write' };
}

/** The operator who made this request. */
export const CurrentOperator = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthOperator => {
  return ctx.switchToHttp().getRequest<{ operator: AuthOperator }>().operator;
});
