/**
 * The embedded database's thread (started by src/database/open-database.ts): PGlite served on a
 * loopback port. Tells the parent `{ url }` once it listens, or `{ error }`; on `'close'` it
 * stops the server, closes the cluster and tells `'closed'`.
 */
import * as v8 from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { servePGlite } from './embedded-postgres';

// PGlite's WASM compiled by V8's baseline compiler only (Liftoff), never tiered up to TurboFan:
// TurboFan's code of PostgreSQL and its compilations took 50 MB at start and 90 MB under webhook
// load in the app's RSS, for no measurable ingest rate (docs/performance.md, "Embedded database
// memory"). Read when the module is compiled, which is after this line (servePGlite imports PGlite).
// Process-wide, but PGlite is the process's only WASM of any size.
v8.setFlagsFromString('--liftoff-only');
const { dir, maxConnections } = workerData as { dir: string; maxConnections: number };
const port = parentPort!;

servePGlite(dir, maxConnections).then(
  (served) => {
    port.on('message', (message) => {
      if (message !== 'close') return;
      served.close().then(
        () => port.postMessage('closed'),
        (e: Error) => port.postMessage({ error: e.message }),
      );
    });
    port.postMessage({ url: served.url });
  },
  (e: Error) => port.postMessage({ error: e.message }),
);
