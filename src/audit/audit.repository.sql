-- The SQL of src/audit/audit.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: insert
INSERT INTO audit_log (actor_operator_id, actor_email, actor_role, api_token_id, ip, method, route, action,
     entity, entity_id, http_request_id, status_code, before, after, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15::jsonb)
RETURNING id;

-- name: list
SELECT a.id, a.at, a.actor_operator_id, a.actor_email, a.actor_role, a.api_token_id, a.ip, a.method, a.route,
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
LIMIT $10;

-- name: allowPurge
SELECT set_config('maildesk.audit_purge', 'on', true);

-- name: purgeBatch
WITH doomed AS (
     DELETE FROM audit_log WHERE id IN (
       SELECT id FROM audit_log WHERE at < clock_timestamp() - make_interval(days => $1::integer)
        ORDER BY at LIMIT $2)
     RETURNING 1)
SELECT count(*)::integer AS n FROM doomed;

-- name: snapshotRequest
SELECT (to_jsonb(r) - ARRAY['search_vector', 'last_seq', 'priority_rank'])
   || jsonb_build_object('participants', coalesce((
        SELECT jsonb_agg(p.email ORDER BY p.email) FROM request_participants p WHERE p.request_id = r.id),
        '[]'::jsonb)) AS snapshot
FROM requests r WHERE r.id = $1;

-- name: snapshotOperator
SELECT (to_jsonb(o) - ARRAY['password_hash'])
   || jsonb_build_object('group_ids', coalesce((
        SELECT jsonb_agg(g.group_id ORDER BY g.group_id) FROM operator_groups g WHERE g.operator_id = o.id),
        '[]'::jsonb)) AS snapshot
FROM operators o WHERE o.id = $1;

-- name: snapshotCustomer
SELECT to_jsonb(c) AS snapshot FROM customers c WHERE c.id = $1;

-- name: snapshotGroup
SELECT to_jsonb(g)
   || jsonb_build_object('operator_ids', coalesce((
        SELECT jsonb_agg(og.operator_id ORDER BY og.operator_id) FROM operator_groups og WHERE og.group_id = g.id),
        '[]'::jsonb)) AS snapshot
FROM groups g WHERE g.id = $1;

-- name: snapshotMailbox
SELECT to_jsonb(m) - ARRAY['imap_secret', 'smtp_secret', 'oauth2_client_secret', 'oauth2_refresh_secret',
     'oauth2_access_secret', 'oauth2_access_expires_at', 'last_success_at', 'backlog'] AS snapshot
FROM mailboxes m WHERE m.id = $1;

-- name: snapshotSavedReply
SELECT to_jsonb(s) AS snapshot FROM saved_replies s WHERE s.id = $1;

-- name: snapshotWebhook
SELECT to_jsonb(w) - ARRAY['secret'] AS snapshot FROM webhooks w WHERE w.id = $1;

-- name: snapshotBlocklistEntry
SELECT to_jsonb(b) AS snapshot FROM blocklist b WHERE b.id = $1;

-- name: snapshotApiToken
SELECT to_jsonb(t) - ARRAY['token_hash', 'last_used_at', 'last_used_ip'] AS snapshot
FROM api_tokens t WHERE t.id = $1;

-- name: snapshotOutboxMail
SELECT jsonb_build_object('id', o.id, 'kind', o.kind, 'to_address', o.to_address, 'status', o.status,
     'attempts', o.attempts, 'next_attempt_at', o.next_attempt_at, 'last_error', o.last_error, 'sent_at', o.sent_at) AS snapshot
FROM outbox o WHERE o.id = $1;

-- name: snapshotInboundMail
SELECT jsonb_build_object('id', i.id, 'source', i.source, 'message_id', i.message_id, 'from_address', i.from_address,
     'status', i.status, 'reason', i.reason, 'request_id', i.request_id, 'attempts', i.attempts) AS snapshot
FROM inbound_mail i WHERE i.id = $1;
