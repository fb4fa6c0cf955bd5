import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { nginxAvailable, startNginx, TestNginx } from '../setup/nginx';

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** One HTTP request with the path sent byte for byte (fetch would normalize `/./metrics`, `//metrics`). */
function send(port: number, method: string, path: string, body?: object, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: text }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * The rules nginx/maildesk.conf applies by path (`/metrics` only from inside the network, the
 * login and webhook rate limits) hold for every spelling of the path the app would serve: the
 * app routes strictly (letter case and a trailing slash matter; only the documented
 * `/requests/webhook/email/` alias), and nginx matches those locations case-insensitively, with
 * or without a trailing slash, after its own decoding of %XX, `//` and `/./`. Any spelling either
 * stops at nginx or is a 404 at the app: none reaches the protected route unprotected.
 */
(nginxAvailable() ? describe : describe.skip)('nginx and the app agree on paths', () => {
  let t: TestApp;
  let nginx: TestNginx;
  let appPort: number;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000', WEBHOOK_RATE_LIMIT: '100000' });
    const server = t.app.getHttpServer() as http.Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    appPort = (server.address() as AddressInfo).port;
    nginx = await startNginx({
      upstreams: [appPort],
      // The test client is 127.0.0.1: not inside the network for /metrics. Limits no refill can
      // blur during the test: one request a minute, one of burst.
      inboundRate: '1r/m',
      edit: (conf) =>
        conf
          .replace(/^\s*allow 127\.0\.0\.1;\n/m, '')
          .replace(/rate=10r\/m/, 'rate=1r/m')
          .replace(/burst=\d+/g, 'burst=1'),
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await t?.close();
  });

  const isMetrics = (a: Answer) => a.status === 200 && a.body.includes('# TYPE');

  it('keeps /metrics from outside the network under every spelling', async () => {
    // The app itself serves /metrics (no METRICS_TOKEN), and nginx refuses it.
    expect(isMetrics(await send(appPort, 'GET', '/metrics'))).toBe(true);
    expect((await send(nginx.port, 'GET', '/metrics')).status).toBe(403);
    const spellings = [
      '/metrics/',
      '/METRICS',
      '/Metrics/',
      '//metrics',
      '/./metrics',
      '/x/../metrics',
      '/metrics/.',
      '/metrics%2F',
      '/metrics%2f',
      '/%6Detrics',
      '/%4Detrics',
      '/metrics//',
      '/metrics;',
      '/metrics?format=text',
      '/metrics/?x=1',
    ];
    const leaks: string[] = [];
    for (const path of spellings) {
      const a = await send(nginx.port, 'GET', path);
      if (isMetrics(a) || ![403, 404].includes(a.status)) leaks.push(`${path} -> ${a.status}`);
    }
    expect(leaks).toEqual([]);
  });

  it('rate-limits the login under every spelling', async () => {
    const creds = { email: 'nobody@desk.test', password: 'wrong-password-1' };
    // One a minute with a burst of one: the third at once stops at nginx.
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await send(nginx.port, 'POST', '/auth/login', creds)).status);
    expect(first).toEqual([401, 401, 429]);
    const leaks: string[] = [];
    for (const path of [
      '/auth/login/',
      '/AUTH/login',
      '/Auth/Login/',
      '//auth/login',
      '/auth//login',
      '/./auth/login',
      '/auth/%6Cogin',
      '/auth/login%2F',
    ]) {
      const a = await send(nginx.port, 'POST', path, creds);
      // 429: nginx's limit applied; 404: the app serves no such path. 401 would be the login answering.
      if (![429, 404].includes(a.status)) leaks.push(`${path} -> ${a.status}`);
    }
    expect(leaks).toEqual([]);
  });

  it('serves the documented /requests/webhook/email/ and rate-limits every spelling of the webhooks', async () => {
    const auth = { authorization: `Bearer ${TEST_INBOUND_TOKEN}` };
    const batch = { messages: [{ title: 'Hello', description: 'Through nginx', user_email: 'ann@customer.test' }] };
    const ok = await send(nginx.port, 'POST', '/requests/webhook/email/', batch, auth);
    expect(ok.status).toBe(200);
    const next = await send(nginx.port, 'POST', '/inbound/mail', { raws: [] }, auth);
    expect([200, 400]).toContain(next.status); // the burst of one
    expect((await send(nginx.port, 'POST', '/inbound/mail', { raws: [] }, auth)).status).toBe(429);
    const leaks: string[] = [];
    for (const path of [
      '/requests/webhook/email/',
      '/requests/webhook/email',
      '/Requests/Webhook/Email/',
      '/requests/webhook/email//',
      '/requests/webhoo%E2%84%AA/email',
      '/INBOUND/mail',
      '/inbound/mail/',
      '//inbound/mail',
      '/inbound/Mail',
    ]) {
      const a = await send(nginx.port, 'POST', path, { messages: [] }, auth);
      if (![429, 404].includes(a.status)) leaks.push(`${path} -> ${a.status}`);
    }
    expect(leaks).toEqual([]);
  });

  it('routes strictly in the app: letter case and a trailing slash matter, but for the documented alias', async () => {
    const token = await t.adminToken();
    const auth = { authorization: `Bearer ${token}` };
    expect((await send(appPort, 'GET', '/requests', undefined, auth)).status).toBe(200);
    for (const path of ['/requests/', '/REQUESTS', '/health/live/', '/Health/Live']) {
      const a = await send(appPort, 'GET', path, undefined, auth);
      expect({ path, status: a.status, json: a.type.startsWith('application/json') }).toEqual({
        path,
        status: 404,
        json: true,
      });
    }
    const batch = { messages: [{ title: 'Hi', description: 'Direct', user_email: 'ann@customer.test' }] };
    const alias = await send(appPort, 'POST', '/requests/webhook/email/?token=' + TEST_INBOUND_TOKEN, batch);
    expect(alias.status).toBe(200);
    expect((await send(appPort, 'POST', '/requests/webhook/email//?token=' + TEST_INBOUND_TOKEN, batch)).status).toBe(
      404,
    );
  });
});
