import type { AuditOptions } from '../common/audit.decorators';

/**
 * The kinds of things the API changes, by the path they live under: the longest prefix of a route's
 * path names the entity its changes are audited as, and so the snapshot taken before and after
 * (audit.repository.ts, SNAPSHOTS). A route added under one of these paths is audited with no
 * further ado; under a new path it still is (actor, route, body), and the route-coverage test
 * (test/e2e/audit-coverage.e2e-spec.ts) asks for an entry here or an @Audited({ entity }).
 */
export const AUDIT_ENTITIES: ReadonlyArray<{ prefix: string; entity: string }> = [
  { prefix: '/requests', entity: 'request' },
  { prefix: '/operators', entity: 'operator' },
  { prefix: '/customers', entity: 'customer' },
  { prefix: '/groups', entity: 'group' },
  { prefix: '/mailboxes', entity: 'mailbox' },
  { prefix: '/saved-replies', entity: 'saved_reply' },
  { prefix: '/webhooks', entity: 'webhook' },
  { prefix: '/blocklist', entity: 'blocklist_entry' },
  { prefix: '/auth/tokens', entity: 'api_token' },
  { prefix: '/outbox', entity: 'outbox_mail' },
  { prefix: '/inbound/quarantine', entity: 'inbound_mail' },
];

/** How one route is audited: what the interceptor writes, resolved once per route. */
export interface AuditRoute {
  /** `PATCH /requests/:id`. */
  route: string;
  entity: string;
  action: string;
  /** The route parameter holding the entity's id, if any. */
  idParam?: string;
  /** The path names the caller's own record (`/operators/me/...`): the entity id is the actor's. */
  idIsActor: boolean;
  lengthOnly: readonly string[];
  /** Whether the entity is snapshotted before and after (AuditOptions.snapshot). */
  snapshot: boolean;
  /** Body fields recorded as present only (AuditOptions.presentOnly). */
  presentOnly: readonly string[];
  /** The answer goes under `data.answer` (AuditOptions.recordAnswer). */
  recordAnswer: boolean;
  /** Under which key of `data` the answer's id goes when it is not the entity's. */
  resultIdAs: string;
  /** False when the entity was guessed from an unknown path (the coverage test refuses those). */
  known: boolean;
}

const VERB_OF_METHOD: Readonly<Record<string, string>> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };

/** `side-threads` -> `side_threads`: action and entity names are snake_case words. */
const word = (s: string): string => s.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '').toLowerCase();

/**
 * How `method path` is audited, from its path and its @Audited options:
 * - entity: the options', else the longest AUDIT_ENTITIES prefix, else the path's first word;
 * - id: the options' idParam, else the parameter right after the prefix (`/groups/:id`); `me` there
 *   is the actor's own record; none on a creation (the answer's `id` is taken then);
 * - action: the options', else `<entity>.<the path's words after the prefix>` (`request.assign`),
 *   with `.update`/`.delete` for PUT/PATCH/DELETE on a sub-path (`request.tags.update`), or
 *   `<entity>.create|update|delete` on the entity itself.
 */
export function auditRouteOf(method: string, path: string, options: AuditOptions = {}): AuditRoute {
  const segments = path.split('/').filter(Boolean);
  const match = AUDIT_ENTITIES.filter(
    (e) => path === e.prefix || path.startsWith(e.prefix + '/'),
  ).sort((a, b) => b.prefix.length - a.prefix.length)[0];
  const prefixLength = match ? match.prefix.split('/').filter(Boolean).length : 1;
  const entity = options.entity ?? match?.entity ?? word(segments[0] ?? 'root');
  const rest = segments.slice(prefixLength);
  let idParam = options.idParam;
  let idIsActor = false;
  if (idParam === undefined && rest[0]?.startsWith(':')) idParam = rest[0].slice(1);
  else if (idParam === undefined && rest[0] === 'me') idIsActor = true;
  const words = rest.slice(idParam !== undefined && rest[0] === `:${idParam}` ? 1 : idIsActor ? 1 : 0).filter(
    (s) => !s.startsWith(':'),
  );
  const verb = VERB_OF_METHOD[method] ?? word(method);
  const action =
    options.action ??
    (words.length === 0
      ? `${entity}.${verb}`
      : `${entity}.${words.map(word).join('.')}${method === 'POST' ? '' : `.${verb}`}`);
  return {
    route: `${method} ${path}`,
    entity,
    action,
    idParam,
    idIsActor,
    lengthOnly: options.lengthOnly ?? [],
    snapshot: options.snapshot ?? true,
    presentOnly: options.presentOnly ?? [],
    recordAnswer: options.recordAnswer ?? false,
    resultIdAs: options.resultIdAs ?? 'resultId',
    known: options.entity !== undefined || match !== undefined,
  };
}
