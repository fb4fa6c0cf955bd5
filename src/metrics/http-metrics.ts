import type { FastifyInstance } from 'fastify';
import { MetricsService, UNMATCHED_ROUTE } from './metrics.service';

/**
 * Times every request into `maildesk_http_request_duration_seconds`, labelled by the route
 * template Fastify matched (`/requests/:id`, never the raw URL, so ids do not multiply the
 * series), the method and the final status code. One onResponse hook: Fastify itself keeps the
 * time since the request arrived (`reply.elapsedTime`); 404s and errors are counted too.
 */
export function registerHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  const histogram = metrics.httpDuration;
  fastify.addHook('onResponse', (request, reply, done) => {
    const path = request.is404 ? undefined : request.routeOptions.url;
    // A wildcard is a static-file mount (Swagger UI's assets), not a route of the API.
    const route = typeof path === 'string' && !path.includes('*') ? path : UNMATCHED_ROUTE;
    histogram.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
