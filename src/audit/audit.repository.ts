import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ReadReplicas } from '../replicas/read-replicas.service';

/**
 * The statements of audit_log (written to audit.repository.sql by `npm run sql`), and the snapshots
 * of the things the API changes, read before and after a change.
 *
 * The snapshots are the rows as JSON (`to_jsonb(row)`) minus the columns listed here: a column
 * another change adds to one of these tables (a group's assignment setting) is in the audit from
 * the day it exists, without anyone remembering to add it. What is left out is either a secret
 * (password hash, sealed mailbox credentials, webhook secret, token hash) or noise that changes
 * without anyone changing it (a search vector, a token's last use). The audit service redacts
 * secret-looking keys again on top (redact.ts), so a secret column added later under a usual name
 * stays out too. One place lists what each table gives to the audit, the reason these queries live
 * here and not in each module's repository.
 */
export const SQL = {
  /** One audit row; $13-$15 are JSON texts. */
  insert: `INSERT INTO audit_log (actor_operator_id, actor_email, actor_role, api_token_id, ip, method, route, action,
         entity, entity_id, http_request_id, status_code, before, after, data)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15::jsonb)
    RETURNING id`,
  /**
   * A page of the log, newest first, after the filters ($1 operator, $2 desk request, $3 action,
   * $4 entity, $5 entity id, $6 from (inclusive), $7 to (exclusive), $8 X-Request-Id; each NULL = any), before id $9
   * (NULL = from the newest), at most $10 rows.
   */
  list: `SELECT a.id, a.at, a.actor_operator_id, a.actor_email, a.actor_role, a.api_token_id, a.ip, a.method, a.route,
           a.action, a.entity, a.entity_id, a.http_request_id, a.status_code, a.before, a.after, a.data
      FROM audit_log a
     WHERE ($1::integer IS NULL OR a.actor_operator_id = $1)
       AND ($2::bigint IS NULL OR (a.entity = 'request' AND a.entity_id = $2))
       AND ($3::text IS NULL OR a.action = $3)
       AND ($4::text IS NULL OR a.entity = $4)
       AND ($5::bigint IS NULL OR a.entity_id = $5)
       AND ($6::timestamptz IS NULL OR a.at >= $6)
       AND ($7::timestamptz IS NULL OR a.at < $7)
       AND ($8::text IS NULL OR a.http_request_id = $8)
       AND ($9::bigint IS NULL OR a.id < $9)
     ORDER BY a.id DESC
     LIMIT $10`,
  /**
   * The purge's permission, for the rest of its transaction only (the append-only trigger refuses a
   * DELETE without it).
   */
  allowPurge: `SELECT set_config('maildesk.audit_purge', 'on', true)`,
  /** Deletes up to $2 rows older than $1 days, the oldest first; how many. */
  purgeBatch: `WITH doomed AS (
         DELETE FROM audit_log WHERE id IN (
           SELECT id FROM audit_log WHERE at < clock_timestamp() - make_interval(days => $1::integer)
            ORDER BY at LIMIT $2)
         RETURNING 1)
    SELECT count(*)::integer AS n FROM doomed`,
  /** A request: its row (no search vector, counters or generated rank) and its participants. */
  snapshotRequest: `SELECT (to_jsonb(r) - ARRAY['search_vector', 'last_seq', 'priority_rank'])
         || jsonb_build_object('participants', coalesce((
              SELECT jsonb_agg(p.email ORDER BY p.email) FROM request_participants p WHERE p.request_id = r.id),
              '[]'::jsonb)) AS snapshot
      FROM requests r WHERE r.id = $1`,
  /** An operator, without their password hash, with their groups. */
  snapshotOperator: `SELECT (to_jsonb(o) - ARRAY['password_hash'])
         || jsonb_build_object('group_ids', coalesce((
              SELECT jsonb_agg(g.group_id ORDER BY g.group_id) FROM operator_groups g WHERE g.operator_id = o.id),
              '[]'::jsonb)) AS snapshot
      FROM operators o WHERE o.id = $1`,
  snapshotCustomer: `SELECT to_jsonb(c) AS snapshot FROM customers c WHERE c.id = $1`,
  /** A group, with its operators. */
  snapshotGroup: `SELECT to_jsonb(g)
         || jsonb_build_object('operator_ids', coalesce((
              SELECT jsonb_agg(og.operator_id ORDER BY og.operator_id) FROM operator_groups og WHERE og.group_id = g.id),
              '[]'::jsonb)) AS snapshot
      FROM groups g WHERE g.id = $1`,
  /** A mailbox, without its sealed credentials and without its poller's running state. */
  snapshotMailbox: `SELECT to_jsonb(m) - ARRAY['imap_secret', 'smtp_secret', 'oauth2_client_secret', 'oauth2_refresh_secret',
           'oauth2_access_secret', 'oauth2_access_expires_at', 'last_success_at', 'backlog'] AS snapshot
      FROM mailboxes m WHERE m.id = $1`,
  snapshotSavedReply: `SELECT to_jsonb(s) AS snapshot FROM saved_replies s WHERE s.id = $1`,
  /** A webhook, without its signing secret. */
  snapshotWebhook: `SELECT to_jsonb(w) - ARRAY['secret'] AS snapshot FROM webhooks w WHERE w.id = $1`,
  snapshotBlocklistEntry: `SELECT to_jsonb(b) AS snapshot FROM blocklist b WHERE b.id = $1`,
  /** A personal access token, without its hash and its last use. */
  snapshotApiToken: `SELECT to_jsonb(t) - ARRAY['token_hash', 'last_used_at', 'last_used_ip'] AS snapshot
      FROM api_tokens t WHERE t.id = $1`,
  /** An outgoing mail's delivery state (not its text). */
  snapshotOutboxMail: `SELECT jsonb_build_object('id', o.id, 'kind', o.kind, 'to_address', o.to_address, 'status', o.status,
           'attempts', o.attempts, 'next_attempt_at', o.next_attempt_at, 'last_error', o.last_error, 'sent_at', o.sent_at) AS snapshot
      FROM outbox o WHERE o.id = $1`,
  /** A received mail's processing state (not its bytes). */
  snapshotInboundMail: `SELECT jsonb_build_object('id', i.id, 'source', i.source, 'message_id', i.message_id, 'from_address', i.from_address,
           'status', i.status, 'reason', i.reason, 'request_id', i.request_id, 'attempts', i.attempts) AS snapshot
      FROM inbound_mail i WHERE i.id = $1`,
} as const;

/** The snapshot statement of each entity (audit-routes.ts AUDIT_ENTITIES names them). */
const SNAPSHOTS: Readonly<Record<string, keyof typeof SQL>> = {
  request: 'snapshotRequest',
  operator: 'snapshotOperator',
  customer: 'snapshotCustomer',
  group: 'snapshotGroup',
  mailbox: 'snapshotMailbox',
  saved_reply: 'snapshotSavedReply',
  webhook: 'snapshotWebhook',
  blocklist_entry: 'snapshotBlocklistEntry',
  api_token: 'snapshotApiToken',
  outbox_mail: 'snapshotOutboxMail',
  inbound_mail: 'snapshotInboundMail',
};

/** True when `entity` has a snapshot (before and after are recorded). */
export function hasSnapshot(entity: string): boolean {
  return entity in SNAPSHOTS;
}

/** An audit row to write. */
export interface AuditEntry {
  actorOperatorId: number | null;
  actorEmail: string | null;
  actorRole: 'admin' | 'operator' | 'system';
  apiTokenId: number | null;
  ip: string | null;
  method: string;
  route: string;
  action: string;
  entity: string;
  entityId: number | null;
  /** The HTTP request's id (X-Request-Id). */
  httpRequestId: string | null;
  statusCode: number | null;
  before: unknown;
  after: unknown;
  data: unknown;
}

/** An audit row as stored. */
export interface AuditRecord extends AuditEntry {
  id: string;
  at: Date;
}

/** GET /audit's filters (each undefined = any) and page. */
export interface AuditFilter {
  operatorId?: number;
  deskRequestId?: number;
  action?: string;
  entity?: string;
  entityId?: number;
  from?: Date;
  /** Exclusive. */
  to?: Date;
  httpRequestId?: string;
  /** Rows with a smaller id only (the keyset cursor). */
  beforeId?: string;
  limit: number;
}

interface AuditRow {
  id: string;
  at: Date;
  actor_operator_id: number | null;
  actor_email: string | null;
  actor_role: AuditEntry['actorRole'];
  api_token_id: number | null;
  ip: string | null;
  method: string;
  route: string;
  action: string;
  entity: string;
  entity_id: string | null;
  http_request_id: string | null;
  status_code: number | null;
  before: unknown;
  after: unknown;
  data: unknown;
}

/** JSON text for a jsonb parameter (NULL for null or undefined). */
const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** audit_log in PostgreSQL: append, read, purge; and the snapshots of audited entities. */
@Injectable()
export class AuditRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly replicas: ReadReplicas,
  ) {}

  async insert(e: AuditEntry): Promise<string> {
    const rows: Array<{ id: string }> = await this.dataSource.query(SQL.insert, [
      e.actorOperatorId,
      e.actorEmail,
      e.actorRole,
      e.apiTokenId,
      e.ip,
      e.method,
      e.route,
      e.action,
      e.entity,
      e.entityId,
      e.httpRequestId,
      e.statusCode,
      json(e.before),
      json(e.after),
      json(e.data),
    ]);
    return String(rows[0].id);
  }

  /** The entity's snapshot now, null when it does not exist (or its kind has no snapshot). */
  async snapshot(entity: string, id: number): Promise<Record<string, unknown> | null> {
    const statement = SNAPSHOTS[entity];
    if (!statement) return null;
    const rows: Array<{ snapshot: Record<string, unknown> }> = await this.dataSource.query(SQL[statement], [id]);
    return rows[0]?.snapshot ?? null;
  }

  /** On a read replica when the call may use one (GET /audit and its CSV: docs/replicas.md). */
  async list(f: AuditFilter): Promise<AuditRecord[]> {
    const rows: AuditRow[] = await this.replicas.read((ds) => ds.query(SQL.list, [
      f.operatorId ?? null,
      f.deskRequestId ?? null,
      f.action ?? null,
      f.entity ?? null,
      f.entityId ?? null,
      f.from ?? null,
      f.to ?? null,
      f.httpRequestId ?? null,
      f.beforeId ?? null,
      f.limit,
    ]),
    );
    return rows.map((r) => ({
      id: String(r.id),
      at: new Date(r.at),
      actorOperatorId: r.actor_operator_id,
      actorEmail: r.actor_email,
      actorRole: r.actor_role,
      apiTokenId: r.api_token_id,
      ip: r.ip,
      method: r.method,
      route: r.route,
      action: r.action,
      entity: r.entity,
      entityId: r.entity_id === null ? null : Number(r.entity_id),
      httpRequestId: r.http_request_id,
      statusCode: r.status_code,
      before: r.before,
      after: r.after,
      data: r.data,
    }));
  }

  /** Deletes up to `batch` rows older than `days` days in one transaction of its own; how many. */
  async purgeBatch(days: number, batch: number): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      await m.query(SQL.allowPurge);
      const rows: Array<{ n: number }> = await m.query(SQL.purgeBatch, [days, batch]);
      return rows[0].n;
    });
  }
}
