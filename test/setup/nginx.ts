import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Tests run from the repository root (as npm test does). */
const ROOT = process.cwd();
/** The production config the tests run. */
export const NGINX_CONF = path.join(ROOT, 'nginx/maildesk.conf');

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];

function nginxBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH_DIRS];
  return dirs.map((d) => path.join(d, 'nginx')).find((f) => fs.existsSync(f));
}

/** Whether nginx is installed; under CI=true a missing nginx fails instead of skipping. */
export function nginxAvailable(): boolean {
  if (nginxBinary()) return true;
  const message = 'nginx is not installed (apt-get install -y nginx): the nginx tests are skipped';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message.split(':')[0]}`);
  console.warn(message);
  return false;
}

export interface NginxOptions {
  /** Ports on 127.0.0.1 of the app instances, in place of the compose hostnames. */
  upstreams: number[];
  /** Replaces the inbound rate (`20r/s`) of the webhook zone, e.g. for a load test. */
  inboundRate?: string;
  /** A last change to the server block (e.g. a tighter limit or one `allow` less), after the others. */
  edit?: (conf: string) => string;
}

/** The production server block, pointed at local instances, listening on 127.0.0.1:`port`. */
export function localConfig(dir: string, port: number, o: NginxOptions): string {
  let conf = fs.readFileSync(NGINX_CONF, 'utf8');
  const servers = o.upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=2 fail_timeout=10s;`).join('\n');
  conf = conf.replace(/(upstream maildesk \{\n(?:\s*#.*\n)*)(?:\s*server \S+:\d+[^;]*;\n)+/, `$1${servers}\n`);
  if (!conf.includes(`127.0.0.1:${o.upstreams[0]}`))
    throw new Error('nginx/maildesk.conf: no upstream server lines found');
  conf = conf.replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  conf = conf.replace(/access_log \S+ maildesk;/, `access_log ${dir}/access.log maildesk;`);
  if (o.inboundRate) conf = conf.replace(/(zone=maildesk_inbound:\S+ rate=)\S+;/, `$1${o.inboundRate};`);
  return o.edit ? o.edit(conf) : conf;
}

/** A main nginx.conf around `serverConf`: pid, logs and temp files in `dir` (absolute paths). */
export function mainConfig(dir: string, includeFile: string): string {
  const user = process.getuid?.() === 0 ? 'user nobody nogroup;\n' : '';
  return `${user}pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
worker_processes 1;
events { worker_connections 256; }
http {
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  access_log off;
  include ${includeFile};
}
`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Writes the configs into a fresh temp dir the nginx workers may write to. */
export function prepareDir(port: number, o: NginxOptions): { dir: string; main: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-nginx-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'tmp'), { mode: 0o777 });
  fs.chmodSync(path.join(dir, 'tmp'), 0o777);
  fs.writeFileSync(path.join(dir, 'maildesk.conf'), localConfig(dir, port, o));
  const main = path.join(dir, 'nginx.conf');
  fs.writeFileSync(main, mainConfig(dir, path.join(dir, 'maildesk.conf')));
  return { dir, main };
}

/** `nginx -t` on a config: status and output. */
export function checkConfig(dir: string, main: string): { status: number | null; output: string } {
  const r = spawnSync(nginxBinary()!, ['-t', '-p', dir, '-c', main], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface TestNginx {
  port: number;
  base: string;
  dir: string;
  /** The access log lines so far (format `maildesk` of nginx/maildesk.conf). */
  accessLog(): string[];
  /** SIGQUIT (graceful), waits for the exit, removes the temp dir. */
  stop(): Promise<void>;
}

/** Runs nginx/maildesk.conf in front of local app instances (see RECIPES.md, nginx). */
export async function startNginx(o: NginxOptions): Promise<TestNginx> {
  const port = await freePort();
  const { dir, main } = prepareDir(port, o);
  const proc: ChildProcess = spawn(nginxBinary()!, ['-p', dir, '-c', main, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  const deadline = Date.now() + 10000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      kill();
      throw new Error(`nginx did not listen on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = path.join(dir, 'access.log');
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    dir,
    accessLog: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGQUIT');
        const timer = setTimeout(kill, 5000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', kill);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
