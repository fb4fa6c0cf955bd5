// `npm run config:docs`: writes .env.sample and the reference section of docs/configuration.md from
// the configuration's own table (src/config/config-variables.ts), from the build (run after
// `npm run build`). src/config/config-reference.spec.ts fails when either is stale.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { renderEnvSample, withReference } = require(path.join(root, 'dist/src/config/config-reference.js'));

const files = {
  '.env.sample': () => renderEnvSample(),
  'docs/configuration.md': (current) => withReference(current),
};
let written = 0;
for (const [file, render] of Object.entries(files)) {
  const target = path.join(root, file);
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  const next = render(current);
  if (next !== current) {
    fs.writeFileSync(target, next);
    written++;
    console.log(`wrote ${file}`);
  }
}
console.log(written ? `${written} file(s) written` : '.env.sample and docs/configuration.md are current');
