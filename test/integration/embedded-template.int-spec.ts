import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Client } from 'pg';
import {
  EMBEDDED_SERVER_SETTINGS,
  extractTemplate,
  lockDataDir,
  servePGlite,
} from '../../src/database/embedded-postgres';

const TEMPLATE = path.resolve('dist', 'pglite-template.tar.gz');

describe('the embedded database template', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-template-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("starts an in-memory cluster (the tests' and the CLI's) from the build's template, not initdb", async () => {
    const served = await servePGlite('memory://', 4);
    try {
      expect(served.fromTemplate).toBe(true);
    } finally {
      await served.close();
    }
  });

  it('writes the template into a new data directory, streamed, and opens it with the memory settings', async () => {
    const release = lockDataDir(dir);
    const served = await servePGlite(dir, 4);
    const client = new Client({ connectionString: served.url });
    try {
      expect(served.fromTemplate).toBe(true);
      await client.connect();
      const show = async (name: string) => (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0][name];
      for (const [name, value] of Object.entries(EMBEDDED_SERVER_SETTINGS))
        expect(`${name}=${await show(name)}`).toBe(`${name}=${value}`);
      // What PostgreSQL sets up (writes) in the WASM heap at every start: 24MB with initdb's 100
      // connections and 16MB of buffers, 128MB+ with its 128MB (docs/performance.md).
      expect(parseInt(await show('shared_memory_size'), 10)).toBeLessThanOrEqual(16);
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class`);
      expect(rows[0].n).toBeGreaterThan(100);
    } finally {
      await client.end().catch(() => undefined);
      await served.close();
      release();
    }
  });

  it('rejects a truncated template (the caller then runs initdb)', async () => {
    // Cut inside an entry, and cut at an entry's boundary (no end-of-archive blocks).
    const tar = zlib.gunzipSync(fs.readFileSync(TEMPLATE));
    const truncated = path.join(dir, 'truncated.tar.gz');
    fs.writeFileSync(truncated, zlib.gzipSync(tar.subarray(0, Math.floor(tar.length / 2) + 100)));
    await expect(extractTemplate(truncated, path.join(dir, 'cut'))).rejects.toThrow();
    fs.writeFileSync(truncated, zlib.gzipSync(tar.subarray(0, 512 * 100)));
    await expect(extractTemplate(truncated, path.join(dir, 'cut-at-entry'))).rejects.toThrow('end-of-archive');
  });
});
