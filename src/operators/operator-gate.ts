import { HttpException } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthOperator, PUBLIC_ROUTE_CONFIG } from '../common/auth.decorators';
import { refuseCall } from '../inbound-mail/webhook/webhook-gate';
import type { AuthGuard } from './auth.guard';

/** Methods whose body Fastify never parses: the guard checks their credentials as before. */
const BODILESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Checks an operator's credentials before the body of a call is read (Fastify's preParsing hook,
 * where Nest's guards come only after the body was parsed): an anonymous or badly authenticated
 * POST/PUT/PATCH/DELETE to an operator route is answered 401 (403 for a read-only API token) without
 * a byte of its body parsed. The operator found is left on the request for AuthGuard, which then
 * checks the roles; public routes (`@Public()`, marked in their route config) and unknown paths
 * (404) pass through.
 */
export function registerOperatorGate(fastify: FastifyInstance, guard: Pick<AuthGuard, 'authenticate'>): void {
  fastify.addHook('preParsing', async (request: FastifyRequest & { operator?: AuthOperator }, reply, payload) => {
    const route = request.routeOptions;
    if (BODILESS.has(request.method) || !route.url || route.config?.[PUBLIC_ROUTE_CONFIG as never]) return payload;
    try {
      request.operator = await guard.authenticate(request);
    } catch (e) {
      if (!(e instanceof HttpException)) throw e;
      refuseCall(request, reply, e.getStatus(), e.message);
    }
    return payload;
  });
}
