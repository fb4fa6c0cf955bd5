import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, freePort } from '../../setup/app-process';

let snapshot: string | undefined;

/**
 * A private copy of the built app (dist/, with node_modules linked): these tests restart the app
 * many times over minutes, and a `nest build` running meanwhile (it empties dist/) must not make a
 * restart fail. Made once per test file; removeBuiltApp() deletes it.
 */
async function builtApp(): Promise<string> {
  if (snapshot) return snapshot;
  const main = path.resolve('dist/src/main.js');
  // A build in progress empties dist/ for a few seconds: wait for it.
  for (let i = 0; !fs.existsSync(main) || Date.now() - fs.statSync(main).mtimeMs < 3000; i++) {
    if (i > 120) throw new Error('dist/src/main.js is missing: run `npx nest build` (npm run test:reliability does)');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-built-'));
  fs.cpSync(path.resolve('dist'), path.join(dir, 'dist'), { recursive: true });
  fs.symlinkSync(path.resolve('node_modules'), path.join(dir, 'node_modules'));
  snapshot = dir;
  return dir;
}

/** Removes the private copy of dist/ (call in afterAll, once every app process has stopped). */
export function removeBuiltApp(): void {
  if (snapshot) fs.rmSync(snapshot, { recursive: true, force: true });
  snapshot = undefined;
}

/**
 * The built app as a child process, like test/setup/app-process.ts startAppProcess (same clean
 * environment, resolves once it logged "ready"), but run from the private copy of dist/.
 */
export async function startBuiltApp(env: Record<string, string>, timeoutMs = 60000): Promise<AppProcess> {
  const cwd = await builtApp();
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(DATABASE_URL|SMTP_|IMAP_|INBOUND_|ADMIN_|JWT_|PORT$|HOST$|DATA_DIR$|SUPPORT_|OUTBOX_|LOG_LEVEL$|NODE_OPTIONS$|AUTO_REPLY_|WEBHOOK_|LOGIN_)/.test(
          k,
        ),
    ),
  );
  const port = env.PORT ?? String(await freePort());
  const proc = spawn(process.execPath, ['dist/src/main.js'], {
    cwd,
    env: { ...clean, LOG_LEVEL: 'log', NO_COLOR: '1', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
  const strip = (d: Buffer) => d.toString().replace(ansi, '');
  // Keeps the last 200 kB only: a long run logs a lot.
  const keep = (d: Buffer) => {
    out += strip(d);
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const end = Date.now() + timeoutMs;
  while (!/ready in \d+ ms/.test(out)) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`app exited ${proc.exitCode}:\n${out}`);
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`app did not start within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    base: `http://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
