-- The SQL of src/requests/requests.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: requestColumns
r.id, r.status, r.subject, r.customer_id, r.operator_id, r.previous_request_id,
r.last_seq, r.created_at, r.updated_at, r.first_response_at, r.closed_at, r.last_message_at,
r.first_response_due_at, r.resolution_due_at, r.sla_breached_first_response_at,
r.sla_breached_resolution_at, r.satisfaction_rating, r.satisfaction_rated_at,
r.mailbox_id, r.group_id, r.merged_into_id, r.split_from_id, r.priority, r.tags,
c.email AS c_email, c.name AS c_name, c.blocked AS c_blocked, c.locale AS c_locale,
o.name AS o_name, o.email AS o_email, o.role AS o_role,
mb.id AS mb_id, mb.address AS mb_address;

-- name: mailboxJoin
LEFT JOIN mailboxes mb ON mb.id = COALESCE(r.mailbox_id, (SELECT d.id FROM mailboxes d WHERE d.is_default));

-- name: findById
SELECT r.id, r.status, r.subject, r.customer_id, r.operator_id, r.previous_request_id,
      r.last_seq, r.created_at, r.updated_at, r.first_response_at, r.closed_at, r.last_message_at,
      r.first_response_due_at, r.resolution_due_at, r.sla_breached_first_response_at,
      r.sla_breached_resolution_at, r.satisfaction_rating, r.satisfaction_rated_at,
      r.mailbox_id, r.group_id, r.merged_into_id, r.split_from_id, r.priority, r.tags,
      c.email AS c_email, c.name AS c_name, c.blocked AS c_blocked, c.locale AS c_locale,
      o.name AS o_name, o.email AS o_email, o.role AS o_role,
      mb.id AS mb_id, mb.address AS mb_address
FROM requests r JOIN customers c ON c.id = r.customer_id LEFT JOIN operators o ON o.id = r.operator_id
LEFT JOIN mailboxes mb ON mb.id = COALESCE(r.mailbox_id, (SELECT d.id FROM mailboxes d WHERE d.is_default))
WHERE r.id = $1;

-- name: insertEvent
INSERT INTO request_events (request_id, type, actor, operator_id, data, created_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp());

-- name: upsertCustomer
INSERT INTO customers (email, name, locale) VALUES ($1, $2, $3)
ON CONFLICT (email) DO UPDATE SET name = COALESCE(customers.name, EXCLUDED.name),
                                  locale = COALESCE(customers.locale, EXCLUDED.locale)
RETURNING id, email, name, blocked, locale, created_at, updated_at;

-- name: findOpenForCustomer
SELECT id FROM requests WHERE customer_id = $1 AND status <> 'closed' AND split_from_id IS NULL FOR UPDATE;

-- name: findOpenForCustomerInMailbox
SELECT id FROM requests
WHERE customer_id = $1 AND status <> 'closed' AND split_from_id IS NULL
  AND COALESCE(mailbox_id, 0) = COALESCE(NULLIF($2::integer, (SELECT id FROM mailboxes WHERE is_default)), 0)
FOR UPDATE;

-- name: insertOpen
INSERT INTO requests (customer_id, subject, previous_request_id, mailbox_id, group_id, priority,
                  created_at, updated_at, last_message_at)
VALUES ($1, $2, $3, NULLIF($4::integer, (SELECT id FROM mailboxes WHERE is_default)), $5, $6,
        clock_timestamp(), clock_timestamp(), clock_timestamp())
ON CONFLICT (customer_id, (COALESCE(mailbox_id, 0))) WHERE status <> 'closed' AND split_from_id IS NULL DO NOTHING
RETURNING id, created_at;

-- name: writeDueDates
UPDATE requests SET first_response_due_at = $2, resolution_due_at = $3 WHERE id = $1;

-- name: transition
UPDATE requests SET status = $3, updated_at = clock_timestamp(),
       operator_id = COALESCE($4, operator_id),
       closed_at = CASE WHEN $3 = 'closed' THEN clock_timestamp() ELSE closed_at END
WHERE id = $1 AND status = $2 RETURNING id;

-- name: lockForUpdate
SELECT status, operator_id FROM requests WHERE id = $1 FOR UPDATE;

-- name: countInProgress
SELECT count(*)::int AS n FROM requests WHERE operator_id = $1 AND status = 'in_progress';

-- name: setAssignee
UPDATE requests SET operator_id = $2, status = CASE WHEN $2::integer IS NULL THEN 'new' ELSE status END,
       updated_at = clock_timestamp()
WHERE id = $1 AND status = 'in_progress' RETURNING id;

-- name: overrideFirstResponseDue
UPDATE requests
SET first_response_due_at = $2,
    sla_breached_first_response_at = CASE WHEN $2::timestamptz IS NULL OR $2::timestamptz > clock_timestamp()
                       THEN NULL ELSE sla_breached_first_response_at END,
    updated_at = clock_timestamp()
WHERE id = $1;

-- name: overrideResolutionDue
UPDATE requests
SET resolution_due_at = $2,
    sla_breached_resolution_at = CASE WHEN $2::timestamptz IS NULL OR $2::timestamptz > clock_timestamp()
                       THEN NULL ELSE sla_breached_resolution_at END,
    updated_at = clock_timestamp()
WHERE id = $1;

-- name: overrideBothDue
UPDATE requests
SET first_response_due_at = $2,
    sla_breached_first_response_at = CASE WHEN $2::timestamptz IS NULL OR $2::timestamptz > clock_timestamp()
                       THEN NULL ELSE sla_breached_first_response_at END,
    resolution_due_at = $3,
    sla_breached_resolution_at = CASE WHEN $3::timestamptz IS NULL OR $3::timestamptz > clock_timestamp()
                       THEN NULL ELSE sla_breached_resolution_at END,
    updated_at = clock_timestamp()
WHERE id = $1;

-- name: markFirstResponseBreaches
WITH breached AS (
  UPDATE requests SET sla_breached_first_response_at = clock_timestamp()
  WHERE id IN (SELECT id FROM requests
               WHERE status <> 'closed' AND first_response_at IS NULL
                 AND first_response_due_at < clock_timestamp() AND sla_breached_first_response_at IS NULL
               ORDER BY first_response_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    AND status <> 'closed' AND first_response_at IS NULL
    AND first_response_due_at < clock_timestamp() AND sla_breached_first_response_at IS NULL
  RETURNING id, first_response_due_at AS due_at)
INSERT INTO request_events (request_id, type, actor, data, created_at)
SELECT id, 'sla_breached', 'system', jsonb_build_object('kind', $2::text, 'dueAt', due_at), clock_timestamp() FROM breached
RETURNING request_id;

-- name: markResolutionBreaches
WITH breached AS (
  UPDATE requests SET sla_breached_resolution_at = clock_timestamp()
  WHERE id IN (SELECT id FROM requests
               WHERE status <> 'closed' AND resolution_due_at < clock_timestamp() AND sla_breached_resolution_at IS NULL
               ORDER BY resolution_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    AND status <> 'closed' AND resolution_due_at < clock_timestamp() AND sla_breached_resolution_at IS NULL
  RETURNING id, resolution_due_at AS due_at)
INSERT INTO request_events (request_id, type, actor, data, created_at)
SELECT id, 'sla_breached', 'system', jsonb_build_object('kind', $2::text, 'dueAt', due_at), clock_timestamp() FROM breached
RETURNING request_id;

-- name: rate
UPDATE requests r SET satisfaction_rating = $2, satisfaction_rated_at = clock_timestamp()
FROM (SELECT id, satisfaction_rating AS previous FROM requests WHERE id = $1 AND status = 'closed' FOR UPDATE) old
WHERE r.id = old.id AND old.previous IS DISTINCT FROM $2::smallint
RETURNING old.previous;

-- name: followMerges
WITH RECURSIVE chain (start, id, next, hops) AS (
  SELECT r.id, r.id, r.merged_into_id, 0 FROM requests r WHERE r.id = ANY ($1::int[])
  UNION ALL
  SELECT c.start, r.id, r.merged_into_id, c.hops + 1 FROM chain c JOIN requests r ON r.id = c.next
   WHERE c.hops < $2)
SELECT DISTINCT ON (start) start, id FROM chain ORDER BY start, hops DESC;

-- name: isClosed
SELECT 1 FROM requests WHERE id = $1 AND status = 'closed';

-- name: setPriority
UPDATE requests r SET priority = $2, updated_at = clock_timestamp()
FROM (SELECT id, priority AS previous FROM requests WHERE id = $1 FOR UPDATE) old
WHERE r.id = old.id
RETURNING old.previous, r.created_at;

-- name: setTags
UPDATE requests r SET tags = $2::text[], updated_at = clock_timestamp()
FROM (SELECT id, tags AS previous FROM requests WHERE id = $1 FOR UPDATE) old
WHERE r.id = old.id
RETURNING old.previous;

-- name: hasDueOverride
SELECT 1 FROM request_events WHERE request_id = $1 AND type = 'sla_changed' LIMIT 1;

-- name: tagCounts
SELECT t.tag, count(*)::int AS count
FROM requests r CROSS JOIN LATERAL unnest(r.tags) AS t(tag)
WHERE r.status = ANY ($1::text[]) AND r.tags <> '{}'
  AND ($2::integer[] IS NULL OR r.group_id = ANY ($2::integer[]))
GROUP BY t.tag ORDER BY count(*) DESC, t.tag LIMIT $3;

-- name: findForParticipant
SELECT r.id, r.status, r.customer_id FROM requests r JOIN customers c ON c.id = r.customer_id
WHERE r.id = $1 AND (c.email = $2
  OR EXISTS (SELECT 1 FROM request_participants p WHERE p.request_id = r.id AND p.email = $2)
  OR EXISTS (SELECT 1 FROM messages m WHERE m.request_id = r.id AND m.kind = 'customer' AND m.direction = 'in'
               AND m.from_address = $2))
FOR KEY SHARE OF r;
