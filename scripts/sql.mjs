// `npm run sql`: writes each repository's statements (its `SQL` export) to `<name>.repository.sql`
// beside it, from the build (run after `npm run build`). See src/database/sql-catalog.ts.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { repositoryFiles, renderSql, sqlFileOf, statementsOf } = require(
  path.join(root, 'dist/src/database/sql-catalog.js'),
);

let written = 0;
for (const compiled of repositoryFiles(path.join(root, 'dist/src'))) {
  const source = path.relative(path.join(root, 'dist'), compiled).replace(/\.js$/, '.ts');
  if (!fs.existsSync(path.join(root, source))) continue; // a stale build of a removed repository
  const text = renderSql(source, statementsOf(source, require(compiled)));
  const target = path.join(root, sqlFileOf(source));
  if (!fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== text) {
    fs.writeFileSync(target, text);
    written++;
    console.log(`wrote ${path.relative(root, target)}`);
  }
}
console.log(written ? `${written} file(s) written` : 'every .sql file is current');
