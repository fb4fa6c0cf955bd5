import * as net from 'node:net';
import { Client } from 'pg';
import { EMBEDDED_SERVER_SETTINGS, servePGlite, type ServedPGlite } from '../../src/database/embedded-postgres';

const CONNECTIONS = 8;
const QUERIES_PER_CONNECTION = 400;

/**
 * The embedded database is one PGlite session served to several sockets: each connection's
 * extended-protocol sequence (Parse, Bind, Describe, Execute, Sync) must run as a whole, never
 * interleaved with another's (src/database/pglite-query-queue.ts). Eight connections run
 * thousands of concurrent statements of different texts and parameter counts, named and unnamed,
 * some with parameters large enough to cross TCP chunks, some in explicit transactions, some
 * failing; every answer must be the right one and no other error may happen.
 */
describe('the embedded database served to several connections (pglite-socket)', () => {
  let served: ServedPGlite;
  const clients: Client[] = [];

  beforeAll(async () => {
    served = await servePGlite('memory://', 20);
    for (let i = 0; i < CONNECTIONS; i++) {
      const client = new Client({ connectionString: served.url });
      await client.connect();
      clients.push(client);
    }
    await clients[0].query(`CREATE TABLE socket_rows (k int NOT NULL, v text NOT NULL)`);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.end().catch(() => {});
    await served?.close();
  });

  /** Runs the j-th statement of connection c; returns a description of what was wrong, if anything. */
  async function step(client: Client, c: number, j: number): Promise<string | undefined> {
    const a = c * 100_000 + j;
    // Each connection starts at another kind, so that different kinds run side by side.
    switch ((j + c) % 7) {
      case 0: {
        const { rows } = await client.query(`SELECT $1::int + $2::int AS s`, [a, 7]);
        return rows[0].s === a + 7 ? undefined : `sum ${JSON.stringify(rows)}`;
      }
      case 1: {
        // 64-320 KB: the Bind message arrives in several TCP chunks.
        const big = String.fromCharCode(97 + (a % 26)).repeat(65_536 * (1 + (a % 5)));
        const { rows } = await client.query(`SELECT length($1::text) AS n, left($1::text, 1) AS f, $2::int AS a`, [
          big,
          a,
        ]);
        return rows[0].n === big.length && rows[0].f === big[0] && rows[0].a === a ? undefined : `big ${rows[0].a}`;
      }
      case 2: {
        const { rows } = await client.query(`SELECT $1::int * 2 AS d, $2::text || $3::text AS c`, [
          a,
          `x${a}`,
          `y${c}`,
        ]);
        return rows[0].d === a * 2 && rows[0].c === `x${a}y${c}` ? undefined : `concat ${JSON.stringify(rows)}`;
      }
      case 3: {
        // Named statements, several per connection, each name parsed on its connection once.
        const { rows } = await client.query({
          name: `socket_c${c}_s${j % 4}`,
          text: `SELECT $1::int + ${j % 4} AS v, '${c}'::text AS c`,
          values: [a],
        });
        return rows[0].v === a + (j % 4) && rows[0].c === String(c) ? undefined : `named ${JSON.stringify(rows)}`;
      }
      case 4: {
        await client.query('BEGIN');
        try {
          await client.query(`INSERT INTO socket_rows (k, v) VALUES ($1, $2)`, [a, 'one']);
          await client.query(`INSERT INTO socket_rows (k, v) SELECT $1, 'two'`, [a]);
          const { rows } = await client.query(`SELECT count(*)::int AS n, min(v) AS v FROM socket_rows WHERE k = $1`, [
            a,
          ]);
          await client.query('COMMIT');
          return rows[0].n === 2 && rows[0].v === 'one' ? undefined : `transaction ${JSON.stringify(rows)}`;
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
      case 5: {
        // A failing statement: its error, and the session skips only this connection's sequence (the
        // library's queue let the others' statements be skipped too, answered as empty successes).
        const error = await client.query(`SELECT 1 / $1::int AS q`, [0]).then(
          () => undefined,
          (e: { code?: string }) => e,
        );
        return error?.code === '22012' ? undefined : `division ${JSON.stringify(error)}`;
      }
      default: {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM socket_rows WHERE k = $1`, [a - 2]);
        return rows[0].n === (j >= 2 ? 2 : 0) ? undefined : `count ${JSON.stringify(rows)}`;
      }
    }
  }

  it('runs each connection’s statements whole: every answer right, no error', async () => {
    const wrong: string[] = [];
    const errors: string[] = [];
    await Promise.all(
      clients.map(async (client, c) => {
        for (let j = 0; j < QUERIES_PER_CONNECTION; j++) {
          try {
            const problem = await step(client, c, j);
            if (problem) wrong.push(problem);
          } catch (e) {
            const { code, message } = e as { code?: string; message: string };
            errors.push(`${code}: ${message}`);
            // A broken connection stops its loop (its statements would all fail).
            if (/not queryable|terminated/.test(message)) return;
          }
        }
      }),
    );
    const total = CONNECTIONS * QUERIES_PER_CONNECTION;
    if (errors.length + wrong.length) {
      console.log(`${errors.length} errors and ${wrong.length} wrong answers of ${total} statements`, [
        ...new Set(errors),
      ]);
    }
    expect(errors).toEqual([]);
    expect(wrong).toEqual([]);
    const { rows } = await clients[0].query(`SELECT count(*)::int AS n FROM socket_rows`);
    let transactions = 0;
    for (let c = 0; c < CONNECTIONS; c++) {
      for (let j = 0; j < QUERIES_PER_CONNECTION; j++) if ((j + c) % 7 === 4) transactions++;
    }
    expect(rows[0].n).toBe(transactions * 2);
  }, 120_000);

  it('rolls back the statement of a connection gone between its Execute and its Sync, and serves the others', async () => {
    const [host, port] = served.url.replace(/^.*@/, '').replace(/\/.*$/, '').split(':');
    const socket = net.connect(Number(port), host);
    let received = Buffer.alloc(0);
    const waitFor = (type: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (received.includes(Buffer.from(type))) {
            socket.off('data', onData);
            resolve();
          }
        };
        const onData = (data: Buffer) => {
          received = Buffer.concat([received, data]);
          check();
        };
        socket.on('data', onData);
        check();
      });
    const frame = (type: string, body: Buffer) => {
      const header = Buffer.alloc(5);
      header.write(type, 0);
      header.writeInt32BE(4 + body.length, 1);
      return Buffer.concat([header, body]);
    };
    const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + params.length, 0);
    startup.writeInt32BE(196608, 4);
    socket.write(Buffer.concat([startup, params]));
    await waitFor('Z');
    received = Buffer.alloc(0);
    const insert = Buffer.from(`INSERT INTO socket_rows (k, v) VALUES (-1, 'gone')\0`);
    socket.write(
      Buffer.concat([
        frame('P', Buffer.concat([Buffer.from('\0'), insert, Buffer.from([0, 0])])),
        frame('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])),
        frame('E', Buffer.from([0, 0, 0, 0, 0])),
      ]),
    );
    await waitFor('INSERT');
    // While it holds the session (no Sync yet), another connection's statement waits.
    const other = clients[1].query(`SELECT count(*)::int AS n FROM socket_rows WHERE k = -1`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await expect(other).resolves.toMatchObject({ rows: [{ n: 0 }] });
    await expect(clients[2].query(`SELECT $1::int AS one`, [1])).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it("runs with the memory settings of EMBEDDED_SERVER_SETTINGS over the cluster's postgresql.conf", async () => {
    for (const [name, value] of Object.entries(EMBEDDED_SERVER_SETTINGS)) {
      const { rows } = await clients[0].query(`SELECT current_setting($1) AS v`, [name]);
      expect(`${name}=${rows[0].v}`).toBe(`${name}=${value}`);
    }
  });
});
