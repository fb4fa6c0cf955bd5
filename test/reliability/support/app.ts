import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppProcess, startAppProcess } from '../../setup/app-process';

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

/** The built app as a child process (startAppProcess), run from the private copy of dist/, keeping the newest 200 kB of its log. */
export async function startBuiltApp(env: Record<string, string>, timeoutMs = 60000): Promise<AppProcess> {
  return startAppProcess(env, timeoutMs, { cwd: await builtApp(), maxLogChars: 200_000 });
}
