import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startAppProcess as start, startFlags } from '../setup/app-process';
import { waitFor } from '../setup/mail';

/** Starts the built app exactly as `npm start` does (node [flags] dist/src/main.js), on the embedded database. */

describe('npm start on the embedded database', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-start-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('serves Swagger, prints the admin login and the inbound token, and keeps its data across a restart', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'log' };
    const first = await start(env);
    let requestId: number;
    let password: string;
    let token: string;
    try {
      const out = first.output();
      password = /password (\S+)/.exec(out)?.[1] ?? '';
      token = /inbound webhook token[^:]*: (\S+)/.exec(out)?.[1] ?? '';
      expect(password.length).toBeGreaterThanOrEqual(12);
      expect(token.length).toBeGreaterThanOrEqual(16);
      expect(out).toContain(`${base}/docs`);
      const docs = await fetch(`${base}/docs`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toMatch(/swagger/i);
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@localhost', password }),
      });
      expect(login.status).toBe(200);
      const raw =
        'From: kim@customer.test\r\nTo: support@localhost\r\nSubject: kept\r\nMessage-ID: <kept@customer.test>\r\n\r\nHello\r\n';
      const posted = await fetch(`${base}/inbound/mail`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'message/rfc822' },
        body: raw,
      });
      expect(posted.status).toBe(200);
      requestId = ((await posted.json()) as { results: Array<{ requestId: number }> }).results[0].requestId;
    } finally {
      await expect(first.stop()).resolves.toBe(0);
    }

    const second = await start(env);
    try {
      // The admin password and the generated inbound token are printed once, at the start that made them.
      expect(second.output()).not.toMatch(/created admin/);
      expect(second.output()).not.toMatch(/inbound webhook token/);
      expect(second.output()).not.toContain(token);
      expect(fs.statSync(path.join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@localhost', password }),
      });
      expect(login.status).toBe(200);
      const { accessToken } = (await login.json()) as { accessToken: string };
      const req = await fetch(`${base}/requests/${requestId}`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(req.status).toBe(200);
      expect(((await req.json()) as { subject: string }).subject).toBe('kept');
      // The creation auto-reply: sent before the stop, or by the second run if the stop came first.
      const emls = () => fs.readdirSync(path.join(dataDir, 'outbox')).filter((f) => f.endsWith('.eml'));
      await waitFor(async () => fs.existsSync(path.join(dataDir, 'outbox')) && emls().length === 1);
      await new Promise((r) => setTimeout(r, 1500));
      expect(emls()).toHaveLength(1);
    } finally {
      await expect(second.stop()).resolves.toBe(0);
    }
  }, 120000);

  it('starts a new data directory from the build template, and runs initdb when the template does not load', async () => {
    expect(fs.existsSync('dist/pglite-template.tar.gz')).toBe(true);
    // A copy of dist/ (inside the repository, so node_modules resolves) whose template is damaged.
    const copy = fs.mkdtempSync(path.join('node_modules', '.cache', 'maildesk-start-'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-template-'));
    try {
      fs.cpSync('dist', path.join(copy, 'dist'), { recursive: true });
      fs.writeFileSync(path.join(copy, 'dist', 'pglite-template.tar.gz'), 'not a tar archive');
      const port = await freePort();
      const app = await start({ PORT: String(port), DATA_DIR: dir, LOG_LEVEL: 'log' }, 60_000, { cwd: copy });
      try {
        expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
        expect(fs.existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
      } finally {
        await expect(app.stop()).resolves.toBe(0);
      }
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);

  it('stops with exit code 1 and one line naming the variable on a bad value', async () => {
    const proc = spawn(process.execPath, [...startFlags(), 'dist/src/main.js'], {
      env: { ...process.env, PORT: 'abc' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => proc.on('exit', r));
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/PORT must be an integer/);
  });

  it('stops with exit code 1 and the reason when the embedded database cannot open its data directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bad-'));
    fs.mkdirSync(path.join(dir, 'pgdata'));
    fs.writeFileSync(path.join(dir, 'pgdata', 'PG_VERSION'), '99\n');
    try {
      const proc = spawn(process.execPath, [...startFlags(), 'dist/src/main.js'], {
        env: { ...process.env, DATABASE_URL: '', DATA_DIR: dir, PORT: String(await freePort()) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise((r) => proc.on('exit', r));
      expect(code).toBe(1);
      expect(err).toMatch(/failed to start: the embedded database did not start: /);
      // The data directory's lock is released: the next start is not refused as "in use".
      expect(fs.existsSync(path.join(dir, 'pgdata', 'maildesk.pid'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
