import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImapFlow } from 'imapflow';

/** The mail user every test Dovecot knows, with its password. */
export const SUPPORT_USER = 'support@example.test';
export const SUPPORT_PASSWORD = 'secret';

/** A throwaway Dovecot serving IMAP on 127.0.0.1 from its own temp dir. */
export interface TestDovecot {
  port: number;
  /** Login -> password. */
  users: Record<string, string>;
  /** Adds (or changes) a mail user while the server runs (Dovecot re-reads its passwd-file when it changes). */
  addUser(user: string, password: string): void;
  /** The IMAP_URL for a user and mailbox (INBOX by default), credentials percent-encoded. */
  url(user?: string, mailbox?: string): string;
  /** A connected client (the caller logs out); has an `error` listener. */
  client(user?: string): Promise<ImapFlow>;
  /** APPENDs one raw mail; returns its UID. */
  append(user: string, raw: string | Buffer, flags?: string[], mailbox?: string): Promise<number>;
  /** APPENDs many raw mails over one connection, in order. */
  appendMany(user: string, raws: (string | Buffer)[], mailbox?: string): Promise<void>;
  /** Stops the server (SIGTERM, waits for exit) and removes the temp dir. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port and mail store. */
  restart(): Promise<void>;
}

/**
 * Dovecot's `oauth2` passdb (RECIPES.md "Dovecot with OAuth2"): XOAUTH2 and OAUTHBEARER logins
 * whose bearer token the introspection endpoint (test/setup/oauth2-server.ts) says is active and
 * whose `sub` is the user. Passwords keep working beside it.
 */
export interface DovecotOauth2 {
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
}

/** How startDovecot sets the server up (nothing: SUPPORT_USER, password logins only). */
export interface DovecotOptions {
  /** Mail users besides SUPPORT_USER (login -> password), e.g. a second mailbox's account. */
  users?: Record<string, string>;
  oauth2?: DovecotOauth2;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];

function dovecotBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH_DIRS];
  return dirs.map((d) => path.join(d, 'dovecot')).find((f) => fs.existsSync(f));
}

/**
 * Whether the IMAP tests can run. Missing Dovecot: false with a visible message, except under
 * CI=true, where it throws so the run fails instead of silently skipping.
 */
export function dovecotAvailable(): boolean {
  if (dovecotBinary()) return true;
  const message = 'dovecot is not installed (apt-get install -y dovecot-imapd): IMAP tests are skipped';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message.split(':')[0]}`);
  console.warn(message);
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the port answers with an IMAP greeting. */
async function waitForGreeting(port: number, child: ChildProcess, log: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(`dovecot exited with code ${child.exitCode}\n${tail}`);
    }
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (greeted) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dovecot did not greet on port ${port} within ${timeoutMs} ms`);
}

/** The passwd-file of the users (login -> password, stored in PLAIN: test accounts only). */
function writeUsers(dir: string, users: Record<string, string>): void {
  const file = path.join(dir, 'users');
  const next = `${file}.next`;
  fs.writeFileSync(
    next,
    Object.entries(users)
      .map(([u, p]) => `${u}:{PLAIN}${p}::::::\n`)
      .join(''),
  );
  fs.renameSync(next, file);
}

/** The passdb block and its args file for DovecotOptions.oauth2 ('' when not asked for). */
function oauth2Passdb(dir: string, oauth2: DovecotOauth2 | undefined): string {
  if (!oauth2) return '';
  const args = path.join(dir, 'oauth2.conf');
  fs.writeFileSync(
    args,
    `introspection_url = ${oauth2.introspectionUrl}
introspection_mode = post
client_id = ${oauth2.clientId}
client_secret = ${oauth2.clientSecret}
username_attribute = sub
active_attribute = active
active_value = true
`,
  );
  return `passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${args}
}
`;
}

function writeConfig(dir: string, port: number, users: Record<string, string>, options: DovecotOptions = {}): string {
  const root = process.getuid?.() === 0;
  const me = os.userInfo().username;
  // As root Dovecot drops to its own users and stores mail as nobody; otherwise it runs as us.
  const runAs = root ? '' : `default_internal_user = ${me}\ndefault_login_user = ${me}\n`;
  const mailOwner = root ? 'uid=nobody gid=nogroup' : `uid=${process.getuid?.()} gid=${process.getgid?.()}`;
  const conf = `base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = maildesk-test-${port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login${options.oauth2 ? ' xoauth2 oauthbearer' : ''}
log_path = ${dir}/dovecot.log
mail_location = maildir:${dir}/mail/%d/%n/Maildir
${runAs}${oauth2Passdb(dir, options.oauth2)}passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = ${mailOwner} home=${dir}/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Processed {
    auto = subscribe
  }
}
`;
  writeUsers(dir, users);
  const file = path.join(dir, 'dovecot.conf');
  fs.writeFileSync(file, conf);
  return file;
}

/**
 * Starts a Dovecot on a free port with its config, state and mail in a fresh temp dir (see
 * RECIPES.md): the user support@example.test / secret (and `options.users`), each with a
 * `Processed` folder; with `options.oauth2`, XOAUTH2/OAUTHBEARER logins validated at an
 * introspection endpoint too.
 */
export async function startDovecot(options: DovecotOptions = {}): Promise<TestDovecot> {
  const binary = dovecotBinary();
  if (!binary) throw new Error('dovecot is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-dovecot-'));
  // mkdtemp makes it 0700; Dovecot's own users must traverse it or every login fails.
  fs.chmodSync(dir, 0o755);
  const mail = path.join(dir, 'mail');
  fs.mkdirSync(mail);
  if (process.getuid?.() === 0) fs.chownSync(mail, 65534, 65534);
  const users: Record<string, string> = { [SUPPORT_USER]: SUPPORT_PASSWORD, ...options.users };
  const port = await freePort();
  const config = writeConfig(dir, port, users, options);
  const log = path.join(dir, 'dovecot.log');
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    // Its own process group: stopping kills the session processes too, as a real restart would.
    const proc = spawn(binary!, ['-F', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    proc.stderr?.on('data', (d) => (stderr += d.toString()));
    proc.on('error', () => undefined);
    // Never outlive the test process, even when it dies without running afterAll.
    const killGroup = () => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', killGroup);
    proc.once('exit', () => process.off('exit', killGroup));
    child = proc;
    try {
      await waitForGreeting(port, proc, log);
    } catch (e) {
      proc.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${stderr}`, { cause: e });
    }
  }

  async function halt(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
    // The master leaves running imap sessions behind (they end with their client): end them.
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // the group is already empty
    }
  }

  async function client(user = SUPPORT_USER): Promise<ImapFlow> {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      auth: { user, pass: users[user] },
      logger: false,
    });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  await start();
  return {
    port,
    users,
    addUser(user, password) {
      users[user] = password;
      writeUsers(dir, users);
    },
    url(user = SUPPORT_USER, mailbox = 'INBOX') {
      return `imap://${encodeURIComponent(user)}:${encodeURIComponent(users[user])}@127.0.0.1:${port}/${encodeURIComponent(mailbox)}`;
    },
    client,
    async append(user, raw, flags = [], mailbox = 'INBOX') {
      const c = await client(user);
      try {
        const res = await c.append(mailbox, raw, flags);
        if (!res || res.uid === undefined) throw new Error('APPEND returned no UID');
        return res.uid;
      } finally {
        await c.logout();
      }
    },
    async appendMany(user, raws, mailbox = 'INBOX') {
      const c = await client(user);
      try {
        for (const raw of raws) await c.append(mailbox, raw);
      } finally {
        await c.logout();
      }
    },
    async stop() {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await halt();
      await start();
    },
  };
}

/** A plain-text RFC 5322 mail for IMAP tests. */
export function rawMail(o: {
  from: string;
  subject: string;
  messageId: string;
  inReplyTo?: string;
  body?: string;
  to?: string;
}): string {
  const headers = [
    `From: ${o.from}`,
    `To: ${o.to ?? 'support@desk.test'}`,
    `Subject: ${o.subject}`,
    `Message-ID: <${o.messageId}>`,
    ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`, `References: <${o.inReplyTo}>`] : []),
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${o.body ?? `Body of ${o.subject}`}\r\n`;
}

/** Polls `check` every 100 ms until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | null | undefined>,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
