-- The SQL of src/reports/reports.repository.ts, written by `npm run sql`; do not edit (edit the repository).

-- name: createdCohort
SELECT grouping(operator_id) AS g, operator_id,
      count(*)::int AS created,
      count(*) FILTER (WHERE status = 'new')::int AS s_new,
      count(*) FILTER (WHERE status = 'in_progress')::int AS s_in_progress,
      count(*) FILTER (WHERE status = 'closed')::int AS s_closed,
      count(*) FILTER (WHERE priority = 'low')::int AS p_low,
      count(*) FILTER (WHERE priority = 'normal')::int AS p_normal,
      count(*) FILTER (WHERE priority = 'high')::int AS p_high,
      count(*) FILTER (WHERE priority = 'urgent')::int AS p_urgent,
      count(first_response_at)::int AS fr_count,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_median,
      avg(extract(epoch FROM first_response_at - created_at))::float8 AS fr_average,
      count(*) FILTER (WHERE first_response_due_at < coalesce(first_response_at, now())
                          OR resolution_due_at < coalesce(closed_at, now()))::int AS overdue
 FROM (SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM requests
       UNION ALL SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM erased_requests) requests WHERE created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR priority = $3::text)
GROUP BY GROUPING SETS ((), (operator_id));

-- name: createdCohortInGroups
SELECT grouping(operator_id) AS g, operator_id,
      count(*)::int AS created,
      count(*) FILTER (WHERE status = 'new')::int AS s_new,
      count(*) FILTER (WHERE status = 'in_progress')::int AS s_in_progress,
      count(*) FILTER (WHERE status = 'closed')::int AS s_closed,
      count(*) FILTER (WHERE priority = 'low')::int AS p_low,
      count(*) FILTER (WHERE priority = 'normal')::int AS p_normal,
      count(*) FILTER (WHERE priority = 'high')::int AS p_high,
      count(*) FILTER (WHERE priority = 'urgent')::int AS p_urgent,
      count(first_response_at)::int AS fr_count,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS fr_median,
      avg(extract(epoch FROM first_response_at - created_at))::float8 AS fr_average,
      count(*) FILTER (WHERE first_response_due_at < coalesce(first_response_at, now())
                          OR resolution_due_at < coalesce(closed_at, now()))::int AS overdue
 FROM (SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM requests
       UNION ALL SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM erased_requests) requests WHERE created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR priority = $3::text) AND group_id = ANY ($4::integer[])
GROUP BY GROUPING SETS ((), (operator_id));

-- name: closedCohort
SELECT grouping(operator_id) AS g, operator_id,
      count(*)::int AS closed,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)) AS res_median,
      avg(extract(epoch FROM closed_at - created_at))::float8 AS res_average,
      count(satisfaction_rating)::int AS rated,
      avg(satisfaction_rating)::float8 AS rating_average
 FROM (SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM requests
       UNION ALL SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM erased_requests) requests WHERE closed_at >= $1 AND closed_at < $2 AND ($3::text IS NULL OR priority = $3::text)
GROUP BY GROUPING SETS ((), (operator_id));

-- name: closedCohortInGroups
SELECT grouping(operator_id) AS g, operator_id,
      count(*)::int AS closed,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)) AS res_median,
      avg(extract(epoch FROM closed_at - created_at))::float8 AS res_average,
      count(satisfaction_rating)::int AS rated,
      avg(satisfaction_rating)::float8 AS rating_average
 FROM (SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM requests
       UNION ALL SELECT status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
      resolution_due_at, closed_at, satisfaction_rating FROM erased_requests) requests WHERE closed_at >= $1 AND closed_at < $2 AND ($3::text IS NULL OR priority = $3::text) AND group_id = ANY ($4::integer[])
GROUP BY GROUPING SETS ((), (operator_id));

-- name: operatorNames
SELECT id, name FROM operators WHERE id = ANY($1::int[]) ORDER BY id;
