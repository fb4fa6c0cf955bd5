/**
 * The embedded database's thread (started by src/database/open-database.ts): PGlite served on a
 * loopback port. Tells the parent `{ url }` once it listens, or `{ error }`; on `'close'` it
 * stops the server, closes the cluster and tells `'closed'`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { servePGlite } from './embedded-postgres';

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
