import * as fs from 'node:fs';
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface AppProcess {
  proc: ChildProcess;
  base: string;
  output(): string;
  /** SIGTERM, resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no shutdown hook runs. */
  kill(): Promise<void>;
}

/**
 * Node's flags in `npm start` (package.json's start script, `node [flags] dist/src/main.js`, which
 * the image's CMD runs too): found from the working directory up (the repository, or the
 * benchmarks' copy of the app inside it).
 */
export function startFlags(): string[] {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    const pkg = fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; scripts?: { start?: string } })
      : undefined;
    if (pkg?.name === 'maildesk') {
      const words = (pkg.scripts?.start ?? '').split(/\s+/);
      if (words[0] !== 'node' || words[words.length - 1] !== 'dist/src/main.js')
        throw new Error(`package.json's start script is not "node [flags] dist/src/main.js": ${pkg.scripts?.start}`);
      return words.slice(1, -1);
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of maildesk above ${process.cwd()}`);
  }
}

export interface AppProcessOptions {
  /** Node's flags before dist/src/main.js (default: npm start's, startFlags). */
  nodeFlags?: string[];
  /** Where `dist/src/main.js` is run from (default: this working directory). */
  cwd?: string;
  /** Keep only about this many characters of the newest log (long runs); default: all of it. */
  maxLogChars?: number;
  /**
   * Write the app's output to this file instead of a pipe this process reads (benchmarks: reading
   * and keeping 1.4 MB/s of log lines took CPU from the app measured); output() reads its end.
   */
  logFile?: string;
}

/**
 * The built app (`node [flags] dist/src/main.js`, exactly what `npm start` runs) as a child process with
 * only `env` and the harmless part of this environment; resolves once it logged "ready".
 */
export async function startAppProcess(
  env: Record<string, string>,
  timeoutMs = 60000,
  options: AppProcessOptions = {},
): Promise<AppProcess> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(DATABASE_URL|SMTP_|IMAP_|INBOUND_|ADMIN_|JWT_|PORT$|HOST$|DATA_DIR$|SUPPORT_|OUTBOX_|LOG_LEVEL$|NODE_OPTIONS$|AUTO_REPLY_|WEBHOOK_|LOGIN_)/.test(
          k,
        ),
    ),
  );
  const port = env.PORT ?? String(await freePort());
  const logFd = options.logFile ? fs.openSync(options.logFile, 'w') : undefined;
  const proc = spawn(process.execPath, [...(options.nodeFlags ?? startFlags()), 'dist/src/main.js'], {
    cwd: options.cwd,
    env: { ...clean, LOG_LEVEL: 'log', NO_COLOR: '1', ...env, PORT: port },
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
  });
  if (logFd !== undefined) fs.closeSync(logFd);
  let piped = '';
  // Without ANSI colours, so tests can read values out of the log.
  const ansi = new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g');
  const strip = (d: Buffer) => d.toString().replace(ansi, '');
  const keep = (d: Buffer) => {
    piped += strip(d);
    if (options.maxLogChars && piped.length > 2 * options.maxLogChars) piped = piped.slice(-options.maxLogChars);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const tail = (file: string) => {
    const size = fs.statSync(file).size;
    const length = Math.min(size, options.maxLogChars ?? size);
    const buf = Buffer.alloc(length);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buf, 0, length, size - length);
    } finally {
      fs.closeSync(fd);
    }
    return strip(buf);
  };
  const output = () => (options.logFile ? tail(options.logFile) : piped);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const end = Date.now() + timeoutMs;
  while (!/ready in \d+ ms/.test(output())) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`app exited ${proc.exitCode}:\n${output()}`);
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`app did not start within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    base: `http://127.0.0.1:${port}`,
    output,
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
