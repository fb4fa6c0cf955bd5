import { spawnSync } from 'node:child_process';
import { createTestApp, TestApp } from '../setup/app';
import { serverRoutes, nestRoutes, normalizePath as normalize, routeKey as key } from '../setup/routes';

/** Paths served outside Nest, public: Swagger UI and its documents, ReDoc and its bundle. */
const isDocs = (path: string) => path.startsWith('/docs') || path.startsWith('/redoc');

/** The routes anyone may call without an operator token; a new one must be added here on purpose. */
const PUBLIC_ROUTES = [
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'POST /auth/login',
  'POST /inbound/mail',
  'POST /requests/webhook/email',
  // The mail providers' webhooks: their own credentials (Mailgun's signature, the inbound token).
  'POST /inbound/mailgun',
  'POST /inbound/sendgrid',
  'POST /inbound/postmark',
  // Amazon SES through SNS: every message's SNS signature is its credential.
  'POST /inbound/ses',
  'GET /feedback/:token',
  // The OAuth2 provider's return: the one-use state is the credential.
  'GET /oauth2/callback',
];

/**
 * Validates an OpenAPI document with @apidevtools/swagger-parser in a plain Node process: the
 * parser requires an ESM-only dependency, which Jest's VM modules cannot `require`.
 */
function validateOpenApi(doc: unknown): string {
  const script =
    "const P = require('@apidevtools/swagger-parser'); let s = '';" +
    "process.stdin.on('data', (d) => (s += d)).on('end', () => P.validate(JSON.parse(s))" +
    ".then(() => process.stdout.write('valid'), (e) => process.stdout.write(String(e.message))));";
  const r = spawnSync(process.execPath, ['-e', script], {
    input: JSON.stringify(doc),
    encoding: 'utf8',
    cwd: process.cwd(),
    timeout: 20_000,
  });
  return r.stdout || r.stderr;
}

function expectErrorShape(res: { status: number; headers: Record<string, string>; body: unknown }): void {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual(
    expect.objectContaining({ statusCode: res.status, error: expect.any(String), message: expect.anything() }),
  );
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

describe('routes, auth coverage, Swagger and the error shape', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('marks exactly the expected routes @Public()', () => {
    const routes = nestRoutes(t);
    expect(routes.length).toBeGreaterThan(PUBLIC_ROUTES.length);
    expect(
      routes
        .filter((r) => r.isPublic)
        .map(key)
        .sort(),
    ).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('serves no route outside Nest but the Swagger docs and ReDoc', () => {
    const nest = new Set(nestRoutes(t).map(key));
    const stray = serverRoutes(t).filter((r) => !nest.has(key(r)) && !isDocs(r.path));
    expect(stray).toEqual([]);
  });

  it('answers 401 JSON without a token on every other route the server serves', async () => {
    const routes = serverRoutes(t).filter((r) => !PUBLIC_ROUTES.includes(key(r)) && !isDocs(r.path));
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const r of routes) {
      const path = r.path.replace(/:(\w+)/g, '1');
      const res = await t.http()[r.method.toLowerCase() as 'get'](path).send({});
      expect({ route: key(r), status: res.status }).toEqual({ route: key(r), status: 401 });
      expectErrorShape(res);
    }
  });

  it('answers a bad token with 401 on a private route', async () => {
    const res = await t.http().get('/requests').set('Authorization', 'Bearer not.a.jwt');
    expect(res.status).toBe(401);
    expectErrorShape(res);
  });

  it('serves Swagger UI at /docs and a valid OpenAPI document at /docs-json', async () => {
    const html = await t.http().get('/docs').redirects(2);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    const res = await t.http().get('/docs-json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(validateOpenApi(doc)).toBe('valid');
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.components.securitySchemes.operator).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route with a summary, a typed success response, and security on private ones', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    const documented = new Set<string>();
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(item)) {
        const k = `${method.toUpperCase()} ${normalize(path.replace(/\{(\w+)\}/g, ':$1'))}`;
        documented.add(k);
        if (!op.summary) problems.push(`${k}: no summary`);
        const responses = op.responses as Record<string, { content?: unknown }>;
        // A route that answers a redirect (GET /mailboxes/:id/oauth2/authorize) documents its 302 instead.
        const ok =
          Object.entries(responses).find(([code]) => /^2\d\d$/.test(code)) ??
          Object.entries(responses).find(([code]) => /^30[1237]$/.test(code));
        // 204 No Content and a redirect have, by definition, no body to type.
        if (!ok || (!ok[1].content && ok[0] !== '204' && !ok[0].startsWith('3')))
          problems.push(`${k}: no typed 2xx response`);
        const security = (op.security ?? doc.security ?? []) as Array<Record<string, unknown>>;
        const isPublic = PUBLIC_ROUTES.includes(k);
        if (!isPublic && !security.some((s) => 'operator' in s))
          problems.push(`${k}: private but no operator security`);
        if (!isPublic && !responses['401']) problems.push(`${k}: 401 not documented`);
        if (isPublic && security.some((s) => 'operator' in s))
          problems.push(`${k}: public but documented as needing an operator token`);
      }
    }
    expect(problems).toEqual([]);
    for (const r of nestRoutes(t)) expect(documented).toContain(key(r));
  });

  it('gives every documented DTO property an example', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    const missing: string[] = [];
    for (const [name, schema] of Object.entries(
      doc.components.schemas as Record<string, { properties?: Record<string, Record<string, unknown>> }>,
    )) {
      for (const [prop, s] of Object.entries(schema.properties ?? {})) {
        const isRef =
          '$ref' in s ||
          'allOf' in s ||
          (s.type === 'array' && typeof s.items === 'object' && s.items !== null && '$ref' in s.items);
        if (!isRef && s.example === undefined) missing.push(`${name}.${prop}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('answers unknown routes and methods with 404 JSON', async () => {
    for (const res of [await t.http().get('/nope'), await t.http().delete('/operators'), await t.http().get('/')]) {
      expect(res.status).toBe(404);
      expectErrorShape(res);
    }
  });

  it('answers malformed JSON and an oversized body with 4xx JSON', async () => {
    const malformed = await t.http().post('/auth/login').set('Content-Type', 'application/json').send('{"email": ');
    expect(malformed.status).toBe(400);
    expectErrorShape(malformed);
    const big = await t
      .http()
      .post('/auth/login')
      .send({ email: 'a@b.c', password: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expectErrorShape(big);
  });

  it('answers validation errors with 400 JSON', async () => {
    const res = await t.http().post('/auth/login').send({ email: 42 });
    expect(res.status).toBe(400);
    expectErrorShape(res);
  });
});
