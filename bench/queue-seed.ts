import { Client } from 'pg';

/** What the seed generates for `requests` requests (the other counts scale with it; 1M: the size). */
export function seedPlan(requests: number) {
  const k = requests / 1_000_000;
  return {
    requests,
    messagesPerRequest: 3,
    customers: Math.round(250_000 * k),
    operators: 50,
    /** The newest requests are open: this many `new`, then this many `in_progress`; the rest closed. */
    newCount: Math.round(50_000 * k),
    inProgressCount: Math.round(100_000 * k),
  };
}
export type SeedPlan = ReturnType<typeof seedPlan>;

/** The queue scenario's size: BENCH_QUEUE_REQUESTS, 1M by default. */
export const SEED = seedPlan(Number(process.env.BENCH_QUEUE_REQUESTS ?? 1_000_000));

/**
 * Seeds the queue with generate_series (deterministic: every value derives from the row number):
 * operators, customers, requests over three years, three messages each. The indexes of requests
 * and messages are dropped first and rebuilt after (their definitions are read back from
 * pg_indexes, so the schema stays exactly the migrated one). Returns seconds taken.
 */
export async function seedQueue(
  url: string,
  log: (s: string) => void = console.log,
  plan: SeedPlan = SEED,
): Promise<number> {
  const SEED = plan;
  const started = Date.now();
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`SET maintenance_work_mem = '1GB'`);
    await c.query(`SET synchronous_commit = off`);
    const n = SEED.requests;
    const open = SEED.newCount + SEED.inProgressCount;
    if (open > SEED.customers) throw new Error('more open requests than customers');
    const defs = (
      await c.query(
        `SELECT i.indexname, i.indexdef FROM pg_indexes i
          WHERE i.tablename IN ('requests', 'messages') AND i.schemaname = 'public'
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)`,
      )
    ).rows as Array<{ indexname: string; indexdef: string }>;
    for (const d of defs) await c.query(`DROP INDEX ${d.indexname}`);
    await c.query(
      `ALTER TABLE messages DROP CONSTRAINT messages_message_id_key, DROP CONSTRAINT messages_request_seq_key`,
    );
    await c.query(
      `INSERT INTO operators (name, email, role, password_hash)
       SELECT 'Operator ' || g, 'operator' || g || '@desk.test', 'operator', 'x' FROM generate_series(1, $1) g`,
      [SEED.operators],
    );
    const ops = (await c.query(`SELECT min(id)::int AS lo FROM operators WHERE email LIKE 'operator%@desk.test'`))
      .rows[0].lo as number;
    log(`seeding ${SEED.customers} customers...`);
    await c.query(
      `INSERT INTO customers (email, name, created_at, updated_at)
       SELECT 'customer' || g || '@client' || (g % 997) || '.example', 'Customer ' || g, now(), now() FROM generate_series(1, $1) g`,
      [SEED.customers],
    );
    const cust = (await c.query(`SELECT min(id)::int AS lo FROM customers`)).rows[0].lo as number;
    log(`seeding ${n} requests...`);
    // Request g: created (n - g) * 95 s ago (about three years), customer g % customers (the open
    // ones, the newest, are on distinct customers), open when among the newest `open`.
    await c.query(
      `INSERT INTO requests (customer_id, subject, search_vector, status, operator_id, last_seq, created_at, updated_at, first_response_at, closed_at, last_message_at)
       SELECT $2 + (g % $3), subj,
              -- what MessagesService.append adds for the two customer messages (the auto-reply is not indexed)
              strip(to_tsvector('simple', 'customer' || (g % $3 + 1) || '@client' || ((g % $3 + 1) % 997) || '.example '
                                       || subj || ' Hello, ' || subj || ' since yesterday; message 1 of the conversation. '
                                       || subj || ' Hello, ' || subj || ' since yesterday; message 3 of the conversation.')),
              st, CASE WHEN st = 'new' THEN NULL ELSE $4 + ((g::bigint * 7919) % $5)::int END, 3,
              ts, ts + interval '2 hours', CASE WHEN st = 'new' THEN NULL ELSE ts + interval '1 hour' END,
              CASE WHEN st = 'closed' THEN ts + interval '2 hours' END, ts + interval '2 hours'
         FROM (SELECT g, now() - ($1 - g) * interval '95 seconds' AS ts,
                      (ARRAY['Printer','VPN','Invoice','Laptop','Password','Wifi','Refund','Order'])[1 + g % 8] || ' problem #' || g AS subj,
                      CASE WHEN g > $1 - $6 THEN 'new' WHEN g > $1 - $7 THEN 'in_progress' ELSE 'closed' END AS st
                 FROM generate_series(1, $1) g) s`,
      [n, cust, SEED.customers, ops, SEED.operators, SEED.newCount, open],
    );
    const req = (await c.query(`SELECT min(id)::int AS lo FROM requests`)).rows[0].lo as number;
    log(`seeding ${n * SEED.messagesPerRequest} messages...`);
    await c.query(
      `INSERT INTO messages (request_id, seq, direction, kind, from_address, to_addresses, subject, text, message_id, created_at)
       SELECT r.id, s, CASE WHEN s = 2 THEN 'out' ELSE 'in' END, CASE WHEN s = 2 THEN 'auto_reply' ELSE 'customer' END,
              CASE WHEN s = 2 THEN 'support@desk.test' ELSE c.email END, ARRAY['support@desk.test'],
              r.subject, 'Hello, ' || r.subject || ' since yesterday; message ' || s || ' of the conversation.',
              'seed.' || r.id || '.' || s || '@client.example', r.created_at + (s - 1) * interval '1 hour'
         FROM requests r JOIN customers c ON c.id = r.customer_id, generate_series(1, $1) s
        WHERE r.id >= $2`,
      [SEED.messagesPerRequest, req],
    );
    log('rebuilding indexes...');
    await c.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_message_id_key UNIQUE (message_id), ADD CONSTRAINT messages_request_seq_key UNIQUE (request_id, seq)`,
    );
    for (const d of defs) await c.query(d.indexdef);
    await c.query('VACUUM ANALYZE operators, customers, requests, messages');
  } finally {
    await c.end();
  }
  return Math.round((Date.now() - started) / 100) / 10;
}
