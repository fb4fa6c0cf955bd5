import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDatabase, main, startApp } from './lib';
import { dataSet, postAll } from './webhook-ingest';

/** Dev helper (`npm run bench:profile`): the app under webhook load with --cpu-prof; prints the top self-time functions. */
main(typeof module === 'object' ? module : undefined, async () => {
  const n = Number(process.env.BENCH_MAILS ?? 3000);
  const mails = dataSet(n, n / 4, 'prof');
  const db = await createDatabase('bench_profile');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-prof-'));
  try {
    const app = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DATABASE_POOL_SIZE: '16',
      NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-prof-preload.js')}`,
      MAILDESK_CPU_PROF: path.join(profDir, 'app.cpuprofile'),
    });
    const r = await postAll(app.base, mails);
    console.log(`${r.rate} emails/s p50 ${r.p50} p99 ${r.p99}`);
    await app.stop();
  } finally {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  const prof = JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
  };
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const self = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const s of prof.samples) {
    const cf = byId.get(s)!.callFrame;
    const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${cf.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    const pkg =
      /node_modules\/((@[^/]+\/)?[^/]+)/.exec(cf.url)?.[1] ??
      (cf.url.includes('/dist/') ? 'maildesk' : cf.url ? 'node:' + cf.url.split('/')[0] : cf.functionName);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + 1);
  }
  const total = prof.samples.length;
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, c]) => `${((c / total) * 100).toFixed(1)}%  ${name}`);
  console.log(
    `profile: ${path.join(profDir, file)}\n-- by package --\n${top(byPkg, 15).join('\n')}\n-- by function --\n${top(self, 30).join('\n')}`,
  );
});
