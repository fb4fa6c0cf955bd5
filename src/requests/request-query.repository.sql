-- The SQL of src/requests/request-query.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: list
WITH {ctes}
SELECT total.n AS total, r.id, r.status, r.subject, r.customer_id, r.operator_id, r.previous_request_id,
  r.last_seq, r.created_at, r.updated_at, r.first_response_at, r.closed_at, r.last_message_at,
  r.first_response_due_at, r.resolution_due_at, r.sla_breached_first_response_at,
  r.sla_breached_resolution_at, r.satisfaction_rating, r.satisfaction_rated_at,
  r.mailbox_id, r.group_id, r.merged_into_id, r.split_from_id, r.priority, r.tags,
  c.email AS c_email, c.name AS c_name, c.blocked AS c_blocked, c.locale AS c_locale,
  o.name AS o_name, o.email AS o_email, o.role AS o_role,
  mb.id AS mb_id, mb.address AS mb_address
FROM total
LEFT JOIN (ids JOIN requests r ON r.id = ids.id
  JOIN customers c ON c.id = r.customer_id
  LEFT JOIN operators o ON o.id = r.operator_id
  LEFT JOIN mailboxes mb ON mb.id = COALESCE(r.mailbox_id, (SELECT d.id FROM mailboxes d WHERE d.is_default))) ON true
ORDER BY {order};

-- name: rankedCtes
m AS MATERIALIZED (SELECT r.id, r.subject FROM requests r {where}),
total AS (SELECT count(*)::int AS n FROM m),
ids AS (SELECT r.id FROM m r ORDER BY {order} LIMIT {limit} OFFSET {offset});

-- name: boundedRankedCtes
m AS MATERIALIZED (SELECT r.id, r.subject, row_number() OVER (ORDER BY r.created_at DESC, r.id DESC) AS k
  FROM requests r {where} ORDER BY r.created_at DESC, r.id DESC LIMIT {upTo}),
total AS ({total}),
ids AS (SELECT r.id, row_number() OVER (ORDER BY r.k > {rankLimit}, {rank} DESC NULLS LAST, r.k) AS o
  FROM m r ORDER BY o LIMIT {limit} OFFSET {offset});

-- name: countCandidates
SELECT count(*)::int AS n FROM m;

-- name: rankWithin
CASE WHEN r.k <= {rankLimit} THEN ts_rank(to_tsvector('simple', r.subject), websearch_to_tsquery('simple', {q})) END;

-- name: orderByPlace
ids.o;

-- name: mergedCtes
total AS ({count}),
ids AS (SELECT r.id FROM ({branches}) r ORDER BY {order} LIMIT {limit} OFFSET {offset});

-- name: branch
(SELECT r.id, {column} FROM requests r {where} ORDER BY {order} LIMIT {upTo});

-- name: unionAll
UNION ALL;

-- name: ctes
total AS ({count}),
ids AS (SELECT r.id FROM requests r {where} ORDER BY {order} LIMIT {limit} OFFSET {offset});

-- name: countUpTo
SELECT count(*)::int AS n FROM (SELECT 1 FROM requests r {where} LIMIT {upTo}) m;

-- name: countAll
SELECT count(*)::int AS n FROM requests r {where};

-- name: where
WHERE {conditions};

-- name: and
AND;

-- name: status
r.status = {status};

-- name: statuses
r.status IN ({statuses});

-- name: operator
r.operator_id = {operatorId};

-- name: mailbox
(r.mailbox_id = {mailboxId} OR (r.mailbox_id IS NULL AND {mailboxId} = (SELECT d.id FROM mailboxes d WHERE d.is_default)));

-- name: group
r.group_id = {groupId};

-- name: groupScope
r.group_id = ANY ({groupIds}::integer[]);

-- name: customer
r.customer_id = (SELECT cu.id FROM customers cu WHERE cu.email = {email});

-- name: createdFrom
r.created_at >= {from};

-- name: createdUpTo
r.created_at <= {to};

-- name: createdBefore
r.created_at < {to};

-- name: overdue
(r.status <> 'closed' AND ((r.first_response_at IS NULL AND r.first_response_due_at < now()) OR r.resolution_due_at < now()));

-- name: notOverdue
NOT coalesce((r.status <> 'closed' AND ((r.first_response_at IS NULL AND r.first_response_due_at < now()) OR r.resolution_due_at < now())), false);

-- name: priorities
r.priority = ANY ({priorities}::text[]);

-- name: tags
r.tags @> {tags}::text[];

-- name: search
r.search_vector @@ websearch_to_tsquery('simple', {q});

-- name: orderByRelevance
ts_rank(to_tsvector('simple', r.subject), websearch_to_tsquery('simple', {q})) DESC, r.id DESC;

-- name: orderById
r.id {direction};

-- name: orderBy
{column} {direction}, r.id {direction};

-- name: orderByNullsLast
{column} {direction} NULLS LAST, r.id {direction};

-- name: ascending
ASC;

-- name: descending
DESC;

-- name: createdAtColumn
r.created_at;

-- name: updatedAtColumn
r.updated_at;

-- name: statusColumn
r.status;

-- name: lastMessageAtColumn
r.last_message_at;

-- name: priorityColumn
r.priority_rank;
