import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { catchError, concatMap, from, type Observable, switchMap } from 'rxjs';
import { MUTATING_METHODS } from '../audit/audit.interceptor';
import type { AuthOperator } from '../common/auth.decorators';
import { READS_FROM_REPLICA } from './reads-from-replica.decorator';
import { ReadReplicas } from './read-replicas.service';

interface CalledRequest {
  method: string;
  id?: string;
  operator?: AuthOperator;
}

/**
 * On a route marked @ReadsFromReplica(): picks the standby for the call's reads (or none) once,
 * after authentication, and runs the handler with it (ReadReplicas.read() then uses it).
 */
@Injectable()
export class ReplicaReadInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly replicas: ReadReplicas,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.replicas.enabled || context.getType() !== 'http') return next.handle();
    if (!this.reflector.get<boolean>(READS_FROM_REPLICA, context.getHandler())) return next.handle();
    const req = context.switchToHttp().getRequest<CalledRequest>();
    // next.handle() binds the handler to the async context it is called in: call it inside the scope.
    return from(this.replicas.scopeFor(req.operator?.id)).pipe(
      switchMap((s) => this.replicas.runIn(s, () => next.handle())),
    );
  }
}

/**
 * After every POST, PUT, PATCH and DELETE of an authenticated operator (or their API token),
 * successful or not, and before the answer leaves: the primary's WAL position, so that their next
 * list, on any instance, waits for a standby that has replayed it (docs/replicas.md). Registered
 * before the audit log's interceptor, so it runs after the audit row is written. A failure to
 * record is logged; the change itself stands.
 */
@Injectable()
export class ReadYourWritesInterceptor implements NestInterceptor {
  private readonly logger = new Logger('ReadReplicas');

  constructor(private readonly replicas: ReadReplicas) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.replicas.enabled || context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<CalledRequest>();
    const operatorId = req.operator?.id;
    if (!MUTATING_METHODS.has(req.method) || operatorId === undefined) return next.handle();
    const record = async () => {
      try {
        await this.replicas.recordWrite(operatorId);
      } catch (e) {
        this.logger.error(`request ${req.id ?? '-'}: read-your-writes position not recorded: ${(e as Error).message}`);
      }
    };
    return next.handle().pipe(
      concatMap(async (value: unknown) => {
        await record();
        return value;
      }),
      catchError(async (e: unknown) => {
        await record();
        throw e;
      }),
    );
  }
}
