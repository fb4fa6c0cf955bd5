import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager, QueryRunner } from 'typeorm';
import { isEmbeddedDatabase } from './embedded-database';

/** Buffers at least this large are staged by COPY instead of being bound as parameters. */
export const STAGE_FROM_BYTES = 1024 * 1024;
/** One COPY data message: the event loop runs between two. */
export const STAGE_CHUNK_BYTES = 256 * 1024;

/** The transaction's staging table, dropped at commit or rollback. */
const CREATE_STAGE = `CREATE TEMP TABLE IF NOT EXISTS md_staged_bytes (slot int NOT NULL, bytes bytea NOT NULL) ON COMMIT DROP`;
const COPY_STAGE = `COPY md_staged_bytes (slot, bytes) FROM STDIN (FORMAT binary)`;
/** What a staged parameter `$n` becomes in the statement: its bytes, found by the slot now bound as `$n`. */
const stagedValue = (n: number) => `(SELECT bytes FROM pg_temp.md_staged_bytes WHERE slot = $${n}::int)`;

/** The slots used so far by each transaction (one QueryRunner per transaction). */
const slotsUsed = new WeakMap<QueryRunner, number>();

/** PGCOPY binary header: signature, flags, header extension length. */
const COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** One binary COPY tuple's prefix: two fields, the int4 slot, then the length of the bytes that follow. */
function tuplePrefix(slot: number, length: number): Buffer {
  const b = Buffer.alloc(2 + 4 + 4 + 4);
  b.writeInt16BE(2, 0);
  b.writeInt32BE(4, 2);
  b.writeInt32BE(slot, 6);
  b.writeInt32BE(length, 10);
  return b;
}

/**
 * Runs `sql` in the caller's transaction like `manager.query`, except that every Buffer parameter
 * of STAGE_FROM_BYTES or more (a 20 MB raw mail, a 15 MB attachment) reaches PostgreSQL through
 * COPY into a temporary table of the transaction, in STAGE_CHUNK_BYTES messages written as the
 * socket drains, and the statement reads it from there: `$n` becomes
 * `(SELECT bytes FROM pg_temp.md_staged_bytes WHERE slot = $n::int)` with the slot bound as `$n`.
 *
 * Why: pg copies a bound parameter into one protocol message before writing it, synchronously,
 * into buffers it allocates for the purpose: 60-100 ms of event loop for a 20 MB mail on the
 * bench machine (docs/performance.md, "Large values by COPY"), and about three transient copies
 * of it in memory. COPY sends the caller's own bytes, a chunk at a time, without copying them.
 * PostgreSQL does a little more (the bytes pass through the temporary table), off the event loop.
 *
 * Smaller values, and the embedded database (PGlite serves no COPY FROM STDIN over its socket),
 * take the ordinary path. The staging table lives and dies with the caller's transaction (one is
 * opened for the statement when there is none), which also keeps it right behind PgBouncer in
 * transaction mode.
 */
export async function queryWithLargeValues<T = unknown>(
  manager: EntityManager,
  sql: string,
  params: unknown[],
): Promise<T> {
  const large = params.flatMap((p, i) => (Buffer.isBuffer(p) && p.length >= STAGE_FROM_BYTES ? [i] : []));
  if (!large.length || (await isEmbeddedDatabase(manager.connection))) return manager.query<T>(sql, params);
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) return manager.transaction((m) => queryWithLargeValues<T>(m, sql, params));
  const values = [...params];
  let text = sql;
  await manager.query(CREATE_STAGE);
  const client = (await runner.connect()) as PoolClient;
  for (const i of large) {
    const slot = (slotsUsed.get(runner) ?? 0) + 1;
    slotsUsed.set(runner, slot);
    await copyIn(client, slot, params[i] as Buffer);
    values[i] = slot;
    text = text.replace(new RegExp(`\\$${i + 1}(?!\\d)`, 'g'), stagedValue(i + 1));
  }
  return manager.query<T>(text, values);
}

/** COPYs one value into the staging table under `slot`, a chunk per turn of the event loop. */
async function copyIn(client: PoolClient, slot: number, bytes: Buffer): Promise<void> {
  const stream = client.query(copyFrom(COPY_STAGE));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  // A failed COPY ends `done` (rejected): no wait for a drain that would never come.
  const write = async (chunk: Buffer) => {
    if (!stream.write(chunk)) await Promise.race([new Promise((resolve) => stream.once('drain', resolve)), done]);
  };
  try {
    await write(Buffer.concat([COPY_HEADER, tuplePrefix(slot, bytes.length)]));
    for (let at = 0; at < bytes.length; at += STAGE_CHUNK_BYTES) {
      await write(bytes.subarray(at, at + STAGE_CHUNK_BYTES));
      await nextTurn();
    }
    stream.end(COPY_TRAILER);
  } catch (e) {
    stream.destroy(e as Error);
  }
  await done;
}
