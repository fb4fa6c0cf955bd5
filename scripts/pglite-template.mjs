// Part of `npm run build`: an initialized, empty embedded cluster (PGlite's initdb, about 6 s on a
// 2-core machine) as dist/pglite-template.tar.gz, so a fresh DATA_DIR starts from it (about 1.3 s)
// instead of running initdb at its first start. Kept in node_modules/.cache per PGlite version: a
// rebuild copies it instead of making it again. The app checks the version and falls back to
// initdb when the template is missing, of another PGlite, or does not load.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// Run after `nest build`: the app's own check of the installed version, from dist/.
const require = createRequire(path.join(root, 'package.json'));
const version = require('./dist/src/database/embedded-postgres.js').installedPGliteVersion();

const cache = path.join(root, 'node_modules', '.cache', 'maildesk', `pglite-template-${version}.tar.gz`);
if (!fs.existsSync(cache)) {
  const started = Date.now();
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  const blob = await db.dumpDataDir('gzip');
  await db.close();
  fs.mkdirSync(path.dirname(cache), { recursive: true });
  fs.writeFileSync(`${cache}.tmp`, Buffer.from(await blob.arrayBuffer()));
  fs.renameSync(`${cache}.tmp`, cache);
  console.log(`embedded database template for PGlite ${version} made in ${Date.now() - started} ms`);
}
fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
fs.copyFileSync(cache, path.join(root, 'dist', 'pglite-template.tar.gz'));
fs.writeFileSync(path.join(root, 'dist', 'pglite-template.json'), JSON.stringify({ pglite: version }) + '\n');
