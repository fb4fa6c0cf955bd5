import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'maildesk:public';
export const ROLES = 'maildesk:roles';
export const QUERY_TOKEN = 'maildesk:query-token';

/** Marks a route (or controller) as reachable without an operator token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

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
