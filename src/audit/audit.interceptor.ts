import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { concatMap, defer, type Observable, switchMap } from 'rxjs';
import { AUDITED, type AuditOptions, NOT_AUDITED } from '../common/audit.decorators';
import type { AuthOperator } from '../common/auth.decorators';
import { hasSnapshot } from './audit.repository';
import { type AuditRoute, auditRouteOf } from './audit-routes';
import { AuditService } from './audit.service';
import { auditBody, redact } from './redact';

/** The methods that change something; GET, HEAD and OPTIONS are never audited. */
export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What the interceptor reads of a Fastify request. */
interface AuditedRequest {
  id?: string;
  method: string;
  url: string;
  ip?: string;
  routeOptions?: { url?: string };
  params?: Record<string, string | undefined>;
  query?: Record<string, unknown>;
  body?: unknown;
  files?: unknown;
  operator?: AuthOperator;
}

/** A positive integer id from a route parameter, else null (its pipe answers 400 for it anyway). */
function idFrom(value: unknown): number | null {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** The numeric `id` of a handler's answer, if it has one. */
function resultId(result: unknown): number | null {
  const id = (result as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
}

/**
 * The audit log's hand on the API (registered globally by AuditModule): every POST, PUT, PATCH and
 * DELETE that an authenticated operator, admin or personal access token calls is written to
 * audit_log, whatever module serves it and whether or not it was written with auditing in mind.
 * `@Public()` routes (login, inbound webhooks, the rating link) carry no operator and are not; a
 * route marked `@NotAudited(reason)` is not.
 *
 * For each call: the entity's snapshot before (when the route names its id), the handler, then
 * -- only when the handler succeeded -- the snapshot after and the row, written before the answer
 * leaves, so whoever got a 2xx can read their row at once. Failed calls (4xx, 5xx) changed nothing
 * and are not recorded (the request log has them, by X-Request-Id).
 *
 * The row is written right after the change commits, not in its transaction (the handlers open
 * their own, several or none): a crash between the two loses the row of a change that happened.
 * A failed write of the row is logged as an error with the request id and does not turn the
 * committed change into an error answer (the client would retry a change that was made). Two
 * changes of the same entity at once may each see the other's effect in their after-snapshot.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Audit');
  private readonly routes = new WeakMap<object, AuditRoute>();

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<AuditedRequest>();
    const actor = req.operator;
    if (!MUTATING_METHODS.has(req.method) || !actor) return next.handle();
    const handler = context.getHandler();
    const targets = [handler, context.getClass()];
    if (this.reflector.getAllAndOverride<string>(NOT_AUDITED, targets)) return next.handle();
    let route = this.routes.get(handler);
    if (!route) {
      const options = this.reflector.getAllAndOverride<AuditOptions | undefined>(AUDITED, targets);
      route = auditRouteOf(req.method, req.routeOptions?.url ?? req.url.split('?')[0], options);
      this.routes.set(handler, route);
    }
    const spec = route;
    const entityId = spec.idIsActor ? actor.id : spec.idParam ? idFrom(req.params?.[spec.idParam]) : null;
    const statusCode =
      (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ?? (req.method === 'POST' ? 201 : 200);
    return defer(() => this.snapshot(spec, entityId, req)).pipe(
      switchMap((before) =>
        next.handle().pipe(
          concatMap(async (result: unknown) => {
            await this.write(spec, req, actor, entityId, before, result, statusCode);
            return result;
          }),
        ),
      ),
    );
  }

  /** The snapshot of the entity, or null (none, no id, or the read failed: logged, the call goes on). */
  private async snapshot(spec: AuditRoute, id: number | null, req: AuditedRequest): Promise<unknown> {
    const entity = spec.entity;
    if (id === null || !spec.snapshot || !hasSnapshot(entity)) return null;
    try {
      return await this.audit.snapshot(entity, id);
    } catch (e) {
      this.logger.error(`audit snapshot of ${entity} ${id} failed (request ${req.id}): ${(e as Error).message}`);
      return null;
    }
  }

  private async write(
    spec: AuditRoute,
    req: AuditedRequest,
    actor: AuthOperator,
    paramId: number | null,
    before: unknown,
    result: unknown,
    statusCode: number,
  ): Promise<void> {
    try {
      const answerId = resultId(result);
      // A creation names its entity by the answer's id; a change by the route's.
      const entityId = paramId ?? answerId;
      const data: Record<string, unknown> = {};
      if (req.body !== undefined && req.body !== null) data.body = auditBody(req.body, spec.lengthOnly, spec.presentOnly);
      const otherParams = Object.entries(req.params ?? {}).filter(([k]) => k !== spec.idParam);
      if (otherParams.length) data.params = Object.fromEntries(otherParams);
      if (req.query && Object.keys(req.query).length) data.query = req.query;
      // After a multipart route's own interceptor, the files it stored (else `files` is
      // @fastify/multipart's method, or nothing).
      if (Array.isArray(req.files) && req.files.length) {
        const files = req.files as Array<{ originalname?: string; filename?: string; fieldname?: string; size?: number }>;
        data.files = files.map((f) => ({ name: f.originalname ?? f.filename ?? f.fieldname, size: f.size }));
      }
      if (answerId !== null && answerId !== entityId) data[spec.resultIdAs] = answerId;
      if (spec.recordAnswer && result !== undefined && result !== null) data.answer = redact(result);
      const after = entityId === null ? null : await this.snapshot(spec, entityId, req);
      await this.audit.record({
        actorOperatorId: actor.id,
        actorEmail: actor.email,
        actorRole: actor.role,
        apiTokenId: actor.apiToken?.id ?? null,
        ip: req.ip ?? null,
        method: req.method,
        route: spec.route,
        action: spec.action,
        entity: spec.entity,
        entityId,
        httpRequestId: req.id ?? null,
        statusCode,
        before,
        after,
        data: Object.keys(data).length ? data : null,
      });
    } catch (e) {
      this.logger.error(
        `audit row of ${spec.route} by operator ${actor.id} not written (request ${req.id}): ${(e as Error).message}`,
      );
    }
  }
}
