import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { pinoLevel, redactUrl, usePretty } from '../../src/logging/logger.module';
import { startAppProcess } from '../setup/app-process';
import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { createTestDatabase } from '../setup/database';
import { postRaw, rawMail } from '../setup/mail';

/** Request ids, Prometheus metrics and structured logs. */

describe('request ids and /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('echoes an incoming X-Request-Id in the header and the error answer', async () => {
    const res = await t.http().get('/requests/1').set('X-Request-Id', 'trace-42.a');
    expect(res.status).toBe(401);
    expect(res.headers['x-request-id']).toBe('trace-42.a');
    expect(res.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: expect.any(String),
      requestId: 'trace-42.a',
    });
  });

  it('generates a request id when none (or an unusable one) is sent', async () => {
    const none = await t.http().get('/nowhere');
    expect(none.status).toBe(404);
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.body.requestId).toBe(none.headers['x-request-id']);
    const bad = await t.http().get('/health/live').set('X-Request-Id', 'has spaces "and quotes"');
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves Prometheus metrics: latency by route template, mails ingested by result, outbox backlog', async () => {
    await t.http().get('/health/live').expect(200);
    await t
      .http()
      .get('/requests/17')
      .set('Authorization', `Bearer ${await t.adminToken()}`);
    const created = await postRaw(
      t,
      rawMail({ from: 'm1@customer.test', subject: 'Metrics', messageId: 'metrics-1@customer.test' }),
    );
    expect(created.body.results[0].status).toBe('created');
    await postRaw(t, rawMail({ from: 'm1@customer.test', subject: 'Metrics', messageId: 'metrics-1@customer.test' }));

    const res = await t.http().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(text).toMatch(
      /maildesk_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status_code="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /maildesk_http_request_duration_seconds_count\{method="GET",route="\/requests\/:id",status_code="404"\} 1/,
    );
    expect(text).toMatch(
      /maildesk_http_request_duration_seconds_count\{method="POST",route="\/inbound\/mail",status_code="200"\} 2/,
    );
    expect(text).toMatch(/maildesk_mails_ingested_total\{source="webhook",result="created"\} 1/);
    expect(text).toMatch(/maildesk_mails_ingested_total\{source="webhook",result="duplicate"\} 1/);
    expect(text).toMatch(/^maildesk_outbox_pending \d+$/m);
    expect(text).toMatch(/^maildesk_outbox_failed 0$/m);
    expect(text).toMatch(/^maildesk_outbox_oldest_due_age_seconds /m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    // The pool's connection waits (PoolWaitMetrics), the API's among them.
    expect(text).toMatch(/^maildesk_db_connection_wait_seconds_count\{lane="api"\} [1-9]/m);
    // Without IMAP_URL there is no poll age to report.
    expect(text).not.toMatch(/maildesk_imap_poll_age_seconds/);
    // Unknown URLs share one label instead of one series each.
    await t.http().get('/no/such/path/123');
    expect((await t.http().get('/metrics')).text).toMatch(/route="\(unmatched\)",status_code="404"/);
  });

  it('documents /metrics in Swagger as public text/plain', async () => {
    const doc = (await t.http().get('/docs-json')).body as {
      paths: Record<
        string,
        {
          get: {
            tags: string[];
            security: unknown[];
            responses: Record<string, { content?: Record<string, unknown> }>;
          };
        }
      >;
    };
    const op = doc.paths['/metrics'].get;
    expect(op.tags).toEqual(['metrics']);
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses['200'].content ?? {})).toEqual(['text/plain']);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ METRICS_TOKEN: 'metrics-token-0123456789' });
  });
  afterAll(async () => t?.close());

  it('needs the bearer token', async () => {
    expect((await t.http().get('/metrics')).status).toBe(401);
    expect((await t.http().get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789')).status).toBe(401);
    // An operator token is not the metrics token either.
    expect(
      (
        await t
          .http()
          .get('/metrics')
          .set('Authorization', `Bearer ${await t.adminToken()}`)
      ).status,
    ).toBe(401);
    const ok = await t.http().get('/metrics').set('Authorization', 'Bearer metrics-token-0123456789');
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/maildesk_outbox_pending/);
  });
});

describe('log configuration', () => {
  it('maps LOG_LEVEL to pino levels, and chooses pretty text only on a terminal unless told', () => {
    expect(pinoLevel(loadConfig({}))).toBe('info');
    expect(pinoLevel(loadConfig({ LOG_LEVEL: 'verbose' }))).toBe('trace');
    expect(pinoLevel(loadConfig({}), ['error'])).toBe('error');
    expect(pinoLevel(loadConfig({}), false)).toBe('silent');
    expect(usePretty(loadConfig({}), true)).toBe(true);
    expect(usePretty(loadConfig({}), false)).toBe(false);
    expect(usePretty(loadConfig({ LOG_FORMAT: 'json' }), true)).toBe(false);
    expect(usePretty(loadConfig({ LOG_FORMAT: 'pretty' }), false)).toBe(true);
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT must be one of json, pretty, auto/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16 characters/);
  });

  it('hides token query parameters in logged URLs', () => {
    expect(redactUrl('/inbound/mail?token=abc&x=1')).toBe('/inbound/mail?token=[redacted]&x=1');
    expect(redactUrl('/requests?status=open')).toBe('/requests?status=open');
  });
});

describe('logs of the built app', () => {
  it('are JSON lines with the request id on each request, secrets redacted, the start lines greppable', async () => {
    const db = await createTestDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-logs-'));
    const app = await startAppProcess({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      INBOUND_TOKEN: TEST_INBOUND_TOKEN,
      JWT_SECRET: 'logs-jwt-secret-0123456789abcdef',
    });
    try {
      await fetch(`${app.base}/requests?token=query-secret-value`, {
        headers: {
          authorization: 'Bearer header-secret-value',
          cookie: 'sid=cookie-secret-value',
          'user-agent': 'curl/8.0',
          'x-request-id': 'log-trace-7',
        },
      });
      await fetch(`${app.base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'log-trace-8' },
        body: JSON.stringify({ email: 'admin@localhost', password: 'body-secret-value' }),
      });
      // A line the app logs while handling a request (after reading its body): the auto-reply to a
      // no-reply address is not sent, and says so.
      const mail = await fetch(`${app.base}/inbound/mail`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TEST_INBOUND_TOKEN}`,
          'content-type': 'message/rfc822',
          'x-request-id': 'log-trace-9',
        },
        body: 'From: no-reply@shop.example\r\nTo: support@localhost\r\nSubject: Your order\r\nMessage-ID: <log-trace-9@shop.example>\r\n\r\nShipped.\r\n',
      });
      expect(mail.status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await expect(app.stop()).resolves.toBe(0);
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    const out = app.output();
    const lines = out.split('\n').filter(Boolean);
    const parsed = lines.map(
      (l) =>
        JSON.parse(l) as {
          msg: string;
          requestId?: string;
          req?: { url: string; method: string; userAgent?: string; headers?: unknown };
        },
    );
    expect(parsed.some((l) => /^ready in \d+ ms/.test(l.msg))).toBe(true);
    expect(out).toMatch(/created admin admin@localhost with password \S+ \(shown once\)/);
    const req = parsed.find((l) => l.requestId === 'log-trace-7' && l.req);
    expect(req?.req?.url).toBe('/requests?token=[redacted]');
    // Who asked and what, not the headers (they carry the credentials).
    expect(req?.req).toMatchObject({ method: 'GET', userAgent: 'curl/8.0' });
    expect(req?.req?.headers).toBeUndefined();
    expect(parsed.some((l) => l.requestId === 'log-trace-8')).toBe(true);
    const inside = parsed.find((l) => /auto-reply "created" for request \d+ not sent/.test(l.msg));
    expect(inside?.requestId).toBe('log-trace-9');
    // The completion line: status and time, once per request.
    const done = parsed.filter((l) => l.requestId === 'log-trace-9' && l.req);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ msg: 'POST /inbound/mail 200', res: { statusCode: 200 } });
    expect(typeof (done[0] as { responseTime?: unknown }).responseTime).toBe('number');
    expect(out).not.toMatch(/query-secret-value|header-secret-value|cookie-secret-value|body-secret-value/);
  }, 60_000);
});
