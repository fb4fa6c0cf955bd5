import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config';
import { checkConfig, nginxAvailable, prepareDir } from '../setup/nginx';

/** The deployment files are checked here (no Docker engine runs in the tests). */

const ROOT = process.cwd();
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  env_file?: string | string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

const compose = parse(read('docker/docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const appNames = Object.keys(services).filter((n) => /^maildesk\d+$/.test(n));
const known = new Set<string>(CONFIG_VARIABLES);

/** KEY=value lines of an env file. */
function envFileKeys(file: string): string[] {
  return read(file)
    .split(/\r?\n/)
    .map((l) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(l)?.[1])
    .filter((k): k is string => !!k);
}

describe('docker-compose.yml', () => {
  it('runs PostgreSQL with a volume and a healthcheck, Mailpit, two MailDesk instances and nginx', () => {
    expect(Object.keys(services).sort()).toEqual(['maildesk1', 'maildesk2', 'mailpit', 'nginx', 'postgres']);
    expect(services.postgres.volumes).toEqual(['pgdata:/var/lib/postgresql/data']);
    expect(compose.volumes).toHaveProperty('pgdata');
    expect(services.postgres.healthcheck?.test.join(' ')).toMatch(/pg_isready/);
    expect(services.mailpit.image).toMatch(/^axllent\/mailpit/);
    expect(services.mailpit.ports).toEqual(['127.0.0.1:8025:8025']);
    expect(services.nginx.ports).toEqual(['8080:80']);
    expect(services.nginx.volumes).toEqual(['../nginx/maildesk.conf:/etc/nginx/conf.d/default.conf:ro']);
    expect(fs.existsSync(path.join(ROOT, 'docker', '../nginx/maildesk.conf'))).toBe(true);
  });

  it('publishes only nginx on every interface: each port of a helper (Mailpit, PostgreSQL) is bound to 127.0.0.1', () => {
    // Mailpit shows every mail sent (rating links included) without a login: never on a public interface.
    for (const [name, s] of Object.entries(services)) {
      if (name === 'nginx') continue;
      for (const port of s.ports ?? []) {
        const spec = typeof port === 'string' ? port : JSON.stringify(port);
        expect({ name, spec, loopback: /^127\.0\.0\.1:\d+:\d+(\/(tcp|udp))?$/.test(spec) }).toEqual({
          name,
          spec,
          loopback: true,
        });
      }
    }
    expect(services.mailpit.ports?.length).toBeGreaterThan(0);
  });

  it('builds both instances from docker/Dockerfile, after PostgreSQL is healthy, configured by docker/maildesk.env', () => {
    expect(appNames).toEqual(['maildesk1', 'maildesk2']);
    for (const name of appNames) {
      const s = services[name];
      expect(s.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
      expect(s.env_file).toBe('maildesk.env');
      expect(s.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
      expect(s.environment?.DATABASE_URL).toMatch(/^postgres:\/\/maildesk:.*@postgres:5432\/maildesk$/);
      expect(s.environment?.SMTP_URL).toBe('smtp://mailpit:1025');
      expect(s.environment?.HOST).toBe('0.0.0.0');
      expect(s.stop_grace_period).toBe('30s');
      expect(s.ports).toBeUndefined();
      // One DATA_DIR for all: secrets generated at the first start are shared.
      expect(s.volumes).toEqual(['maildesk-data:/data']);
    }
    expect(compose.volumes).toHaveProperty('maildesk-data');
    expect(fs.existsSync(path.join(ROOT, 'docker/maildesk.env'))).toBe(true);
    expect(services.nginx.depends_on).toEqual({
      maildesk1: { condition: 'service_healthy' },
      maildesk2: { condition: 'service_healthy' },
    });
  });

  it('names only variables MailDesk reads, in compose and in docker/maildesk.env', () => {
    const named = [
      ...appNames.flatMap((n) => Object.keys(services[n].environment ?? {})),
      ...envFileKeys('docker/maildesk.env'),
    ];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((k) => !known.has(k))).toEqual([]);
  });

  it('names the secrets in docker/maildesk.env without a value (no usable sample secret), and its values pass loadConfig', () => {
    const env: Record<string, string> = {};
    for (const line of read('docker/maildesk.env').split(/\r?\n/)) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (m) env[m[1]] = m[2];
    }
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['INBOUND_TOKEN', 'JWT_SECRET', 'ADMIN_PASSWORD']));
    for (const name of ['INBOUND_TOKEN', 'JWT_SECRET', 'ADMIN_PASSWORD'])
      expect({ name, value: env[name] }).toEqual({ name, value: '' });
    expect(read('docker/maildesk.env')).toMatch(/openssl rand -hex 32/);
    const app = services.maildesk1.environment ?? {};
    const resolved = Object.fromEntries(
      Object.entries(app).map(([k, v]) => [k, v.replace(/\$\{(\w+):-([^}]*)\}/g, '$2')]),
    );
    expect(() => loadConfig({ ...env, ...resolved })).not.toThrow();
  });
});

describe('nginx/maildesk.conf', () => {
  const conf = read('nginx/maildesk.conf');

  it('balances over exactly the compose MailDesk services, on their PORT', () => {
    const upstream = /upstream maildesk \{([^}]*)\}/.exec(conf)![1];
    const servers = [...upstream.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => ({ host: m[1], port: m[2] }));
    expect(servers.map((s) => s.host)).toEqual(appNames);
    for (const s of servers) expect(s.port).toBe(services[s.host].environment?.PORT);
  });

  it('accepts a JSON webhook body as large as the app does (INBOUND_MAX_BYTES as base64), and not much more', () => {
    const size = /client_max_body_size\s+(\d+)m;/.exec(conf)![1];
    const nginxBytes = Number(size) * 1024 * 1024;
    const maxInbound = loadConfig({}).mail.maxInboundBytes;
    const appJsonLimit = Math.ceil(maxInbound * 1.4) + 64 * 1024; // src/app.ts
    expect(nginxBytes).toBeGreaterThanOrEqual(Math.ceil((maxInbound * 4) / 3));
    expect(nginxBytes).toBeGreaterThanOrEqual(appJsonLimit);
    expect(nginxBytes).toBeLessThan(appJsonLimit * 1.1);
  });

  it('forwards the client address, scheme and request id, gzips JSON and rate-limits login and the webhook', () => {
    for (const h of ['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Real-IP', 'X-Request-Id']) {
      expect(conf).toMatch(new RegExp(`proxy_set_header ${h} `));
    }
    expect(conf).toMatch(/gzip_types[^;]*application\/json/);
    expect(conf).toMatch(/proxy_next_upstream error timeout/);
    // Case-insensitive, with or without a trailing slash (test/e2e/nginx-paths.e2e-spec.ts runs them).
    expect(conf).toMatch(/location ~\* \^\/auth\/login\/\?\$ \{[^}]*limit_req zone=maildesk_login/);
    expect(conf).toMatch(/location ~\* \^\/inbound\/ \{[^}]*limit_req zone=maildesk_inbound/);
    expect(conf).toMatch(/location ~\* \^\/requests\/webhook\/email\/\?\$ \{[^}]*limit_req zone=maildesk_inbound/);
    expect(conf).toMatch(/location ~\* \^\/metrics\/\?\$ \{[^}]*deny all;/);
    expect(conf).not.toMatch(/location = /);
    expect(conf).toMatch(/#\s*listen 443 ssl;/);
  });

  (nginxAvailable() ? it : it.skip)('passes nginx -t (with the upstreams pointed at local ports)', () => {
    const { dir, main } = prepareDir(18080, { upstreams: [18081, 18082] });
    try {
      const r = checkConfig(dir, main);
      expect(r.output).toMatch(/test is successful/);
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'maildesk.conf'), 'utf8')).not.toMatch(/maildesk[12]:3000/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker/Dockerfile', () => {
  const dockerfile = read('docker/Dockerfile');
  const lines = dockerfile.split('\n').filter((l) => !l.trim().startsWith('#'));
  const instructions = lines
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim());

  it('builds in one stage and runs from a slim image of the same Node major', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim AS runtime']);
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/npm run build && npm prune --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/node_modules \.\/node_modules/);
  });

  it('copies every file `npm run build` runs into the build stage (the embedded template script)', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const scripts = [...pkg.scripts.build.matchAll(/node (\S+\.mjs)/g)].map((m) => m[1]);
    expect(scripts).toEqual(['scripts/pglite-template.mjs']);
    for (const file of scripts) expect(dockerfile).toContain(`COPY ${file} ./scripts/`);
  });

  it('runs as the non-root user node, with a healthcheck on /health/live, starting what npm start starts', () => {
    const runtime = instructions.slice(
      instructions.findIndex((l) => l.startsWith('FROM node:20-bookworm-slim AS runtime')),
    );
    const user = runtime.findIndex((l) => l.startsWith('USER '));
    const cmd = runtime.findIndex((l) => l.startsWith('CMD '));
    expect(runtime[user]).toBe('USER node');
    expect(user).toBeLessThan(cmd);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK '))).toMatch(/\/health\/live/);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node --v8-pool-size=1 dist/src/main.js');
    expect(pkg.scripts['start:prod']).toBe(pkg.scripts.start);
    expect(runtime[cmd]).toBe(`CMD ${JSON.stringify(pkg.scripts.start.split(' '))}`.replace(/","/g, '", "'));
    expect(dockerfile).toMatch(/ENV NODE_ENV=production/);
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
  });

  it('keeps node_modules, dist and data out of the build context', () => {
    const ignore = read('docker/Dockerfile.dockerignore').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', 'dist', 'data']));
  });
});
