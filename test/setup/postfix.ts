/**
 * A throwaway private Postfix for tests: the real mail server that delivers into MailDesk.
 *
 *   const postfix = await startPostfix({
 *     transports: { 'desk.test': 'lmtp:inet:127.0.0.1:2424' },        // or 'smtp:[127.0.0.1]:2525'
 *     pipe: { argv: ['/usr/bin/node', '/abs/dist/src/cli.js', 'mailgate', '--recipient', '${recipient}'] },
 *   });                                                               // 'pipe.test' -> the pipe
 *   await postfix.send({ from: 'alice@example.com', to: ['support@desk.test'], raw });
 *   await postfix.waitForQueue((q) => q.some((m) => m.queue_name === 'deferred'));
 *   await postfix.flush();                                            // postqueue -f: retry now
 *   await postfix.stop();
 *
 * Everything lives in one temp dir (config_directory with main.cf and master.cf, queue_directory,
 * data_directory, the log `maillog`); `postfix -c DIR start` runs it as root (the master must be
 * root; the queue belongs to the `postfix` user, Postfix creates it so at start). smtpd listens on
 * 127.0.0.1 on a free port; nothing is delivered locally (`mydestination` empty) or to the outside
 * (`default_transport = error`); the domains of `transports` are relayed to their next hop through
 * `transport_maps`, and a `pipe` transport named `mailgate` serves the domain `pipe.test` (one
 * recipient per run, as `user`, `nobody` by default). Deferred mail is retried every few seconds
 * (minimal_backoff_time 2s, maximal_backoff_time 4s, queue_run_delay 2s).
 *
 * `postfixAvailable()` says whether the tests can run: Postfix installed and this process root; a
 * missing Postfix under CI=true throws, so CI fails instead of silently skipping.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nodemailer from 'nodemailer';
import { freePort } from './app-process';

/** The domain the `mailgate` pipe transport serves. */
export const PIPE_DOMAIN = 'pipe.test';

const POSTFIX = '/usr/sbin/postfix';
const POSTQUEUE = '/usr/sbin/postqueue';

/** How startPostfix sets the instance up. */
export interface PostfixOptions {
  /**
   * Relayed domains (or single addresses, in a domain then relayed) and their next hop:
   * `lmtp:inet:127.0.0.1:PORT`, `smtp:[127.0.0.1]:PORT`.
   */
  transports?: Record<string, string>;
  /**
   * The `mailgate` pipe transport for PIPE_DOMAIN: the command and its arguments (absolute paths;
   * `${recipient}`, `${sender}` expanded by Postfix), run as `user` (default `nobody`).
   */
  pipe?: { argv: string[]; user?: string };
  /** Extra main.cf lines (`name = value`). */
  mainCf?: Record<string, string>;
}

/** One mail in Postfix's queue (`postqueue -j`). */
export interface QueuedMail {
  /** incoming, active, deferred, hold or maildrop. */
  queue_name: string;
  queue_id: string;
  sender: string;
  recipients: Array<{ address: string; delay_reason?: string }>;
}

/** A running private Postfix. */
export interface TestPostfix {
  /** The smtpd port on 127.0.0.1. */
  port: number;
  /** The temp dir holding everything (config in `DIR/etc`). */
  dir: string;
  /** Sends one raw mail to smtpd with this envelope (nodemailer); resolves once Postfix queued it. */
  send(mail: { from: string; to: string[]; raw: string | Buffer }): Promise<void>;
  /** The queue now (`postqueue -j`): empty once everything was delivered or bounced. */
  queue(): Promise<QueuedMail[]>;
  /** Polls the queue every 200 ms until `check` holds; throws with the log's end after `timeoutMs`. */
  waitForQueue(check: (queue: QueuedMail[]) => boolean, timeoutMs?: number): Promise<QueuedMail[]>;
  /** `postqueue -f`: tries every deferred mail now. */
  flush(): Promise<void>;
  /** The mail log (deliveries with their `status=` and `dsn=`). */
  log(): string;
  /** Stops the instance (`postfix stop`, waits for the master to exit) and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Whether the Postfix tests can run: installed and root. Missing: false with a visible message,
 * except under CI=true, where it throws.
 */
export function postfixAvailable(): boolean {
  const installed = fs.existsSync(POSTFIX);
  if (installed && process.getuid?.() === 0) return true;
  const message = installed
    ? 'Postfix tests need root (its master runs as root): skipped'
    : 'postfix is not installed (debconf "No configuration", then apt-get install -y postfix): Postfix tests are skipped';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message.split(':')[0]}`);
  console.warn(message);
  return false;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A master.cf argument: Postfix 3 groups one holding white space in `{ }`. */
function masterArg(arg: string): string {
  return /[\s{}]/.test(arg) ? `{${arg}}` : arg;
}

function mainCf(dir: string, options: PostfixOptions): string {
  // A key may be a domain or one address (`billing@desk.test`): its domain is relayed.
  const keys = [...Object.keys(options.transports ?? {}), ...(options.pipe ? [PIPE_DOMAIN] : [])];
  const relayed = [...new Set(keys.map((k) => k.slice(k.lastIndexOf('@') + 1)))];
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    config_directory: path.join(dir, 'etc'),
    queue_directory: path.join(dir, 'queue'),
    data_directory: path.join(dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    maillog_file: path.join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    myhostname: 'postfix.maildesk.test',
    mydomain: 'maildesk.test',
    myorigin: '$mydomain',
    mydestination: '',
    mynetworks: '127.0.0.0/8',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    relay_domains: relayed.join(', '),
    transport_maps: `texthash:${path.join(dir, 'etc', 'transport')}`,
    // Nothing leaves for the outside (bounces to test senders included).
    default_transport: 'error:no outside delivery in tests',
    relay_transport: 'error:no outside delivery in tests',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    biff: 'no',
    append_dot_mydomain: 'no',
    smtputf8_enable: 'no',
    smtp_dns_support_level: 'disabled',
    minimal_backoff_time: '2s',
    maximal_backoff_time: '4s',
    queue_run_delay: '2s',
    // One recipient per pipe run, so `${recipient}` is one address.
    mailgate_destination_recipient_limit: '1',
    ...options.mainCf,
  };
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')
    .concat('\n');
}

function masterCf(port: number, options: PostfixOptions): string {
  const lines = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  if (options.pipe) {
    lines.push(
      'mailgate unix - n n - - pipe',
      `  user=${options.pipe.user ?? 'nobody'} argv=${options.pipe.argv.map(masterArg).join(' ')}`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Gives every directory above `file` the search bit for others (o+x: enter, not list) where it
 * lacks it, so an unprivileged user can reach the file: a clone in a `mktemp -d` directory (0700,
 * as CI makes it) is otherwise closed to the pipe's user. Only the search bit changes.
 */
function makeTraversable(file: string): void {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const mode = fs.statSync(dir).mode;
    if (!(mode & 0o001)) fs.chmodSync(dir, (mode & 0o7777) | 0o001);
    if (dir === path.dirname(dir)) break;
  }
}

/** Starts a private Postfix (see the top of this file). */
export async function startPostfix(options: PostfixOptions = {}): Promise<TestPostfix> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-postfix-'));
  // mkdtemp makes it 0700: Postfix's own user and the pipe's user must traverse it.
  fs.chmodSync(dir, 0o755);
  // The pipe runs as an unprivileged user: the command's files (the built CLI and the
  // node_modules beside it) must be reachable by it, wherever the repository was cloned.
  for (const arg of options.pipe?.argv ?? []) if (path.isAbsolute(arg) && fs.existsSync(arg)) makeTraversable(arg);
  const etc = path.join(dir, 'etc');
  for (const sub of ['etc', 'queue', 'data']) fs.mkdirSync(path.join(dir, sub));
  execFileSync('chown', ['postfix', path.join(dir, 'data')]);
  const port = await freePort();
  fs.writeFileSync(path.join(etc, 'main.cf'), mainCf(dir, options));
  fs.writeFileSync(path.join(etc, 'master.cf'), masterCf(port, options));
  const transports = { ...options.transports, ...(options.pipe ? { [PIPE_DOMAIN]: 'mailgate:' } : {}) };
  fs.writeFileSync(
    path.join(etc, 'transport'),
    Object.entries(transports)
      .map(([domain, next]) => `${domain} ${next}\n`)
      .join(''),
  );
  const logFile = path.join(dir, 'maillog');
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');

  // Never outlive the test process, even when it dies without running afterAll.
  const abort = () => {
    try {
      execFileSync(POSTFIX, ['-c', etc, 'abort'], { stdio: 'ignore' });
    } catch {
      // not running
    }
  };
  process.once('exit', abort);
  try {
    await run(POSTFIX, ['-c', etc, 'start']);
  } catch (e) {
    process.off('exit', abort);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pidFile = path.join(dir, 'queue', 'pid', 'master.pid');
  await until('the Postfix master', () => fs.existsSync(pidFile) && /daemon started/.test(log()), 20_000, log);
  const masterPid = Number(fs.readFileSync(pidFile, 'utf8').trim());

  const queue = async (): Promise<QueuedMail[]> =>
    (await run(POSTQUEUE, ['-c', etc, '-j']))
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as QueuedMail);

  return {
    port,
    dir,
    async send(mail) {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      try {
        await transport.sendMail({ envelope: { from: mail.from, to: mail.to }, raw: mail.raw });
      } finally {
        transport.close();
      }
    },
    queue,
    async waitForQueue(check, timeoutMs = 30_000) {
      let last: QueuedMail[] = [];
      await until(
        'the Postfix queue',
        async () => {
          last = await queue();
          return check(last);
        },
        timeoutMs,
        () => `${JSON.stringify(last)}\n${log().slice(-3000)}`,
      );
      return last;
    },
    async flush() {
      await run(POSTQUEUE, ['-c', etc, '-f']);
    },
    log,
    async stop() {
      await run(POSTFIX, ['-c', etc, 'stop']).catch(() => undefined);
      await until('the Postfix master to exit', () => !alive(masterPid), 20_000, log).catch(() => {
        abort();
      });
      process.off('exit', abort);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  context: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
