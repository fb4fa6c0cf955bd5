import type { NextFunction, Request, Response } from 'express';
import { MetricsService, UNMATCHED_ROUTE } from './metrics.service';

/**
 * Express middleware timing every request into `maildesk_http_request_duration_seconds`, labelled
 * by the route template Express matched (`/requests/:id`, never the raw URL, so ids do not
 * multiply the series), the method and the final status code.
 */
export function httpMetricsMiddleware(metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = metrics.httpDuration.startTimer();
    res.once('close', () => {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      // A wildcard is the logger middleware's catch-all, not a route of the API.
      const route = typeof path === 'string' && !path.includes('*') ? `${req.baseUrl}${path}` : UNMATCHED_ROUTE;
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}
