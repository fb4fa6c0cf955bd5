import { JwtService } from '@nestjs/jwt';
import { createTestApp, TestApp } from '../setup/app';
import { postRaw } from '../setup/mail';
import { serverRoutes, nestRoutes, routeKey } from '../setup/routes';

/** Who calls: no token, an expired admin token, a deactivated operator's token, an operator, an admin. */
const WHO = ['none', 'expired', 'deactivated', 'operator', 'admin'] as const;
type Who = (typeof WHO)[number];

/** Ids the probes use, created in beforeAll. */
interface Fixtures {
  requestId: number;
  operatorId: number;
  inboundId: number;
  outboxId: number;
  attachmentId: number;
  messageId: number;
  customerId: number;
  blocklistId: number;
  webhookId: number;
  doomedWebhookId: number;
  groupId: number;
  doomedGroupId: number;
  mailboxId: number;
  doomedMailboxId: number;
  savedReplyId: number;
  doomedSavedReplyId: number;
  /** An API token of the admin's. */
  apiTokenId: number;
}

interface Probe {
  path: (f: Fixtures) => string;
  body?: (who: Who, f: Fixtures) => unknown;
  /** Expected status for none, expired, deactivated, operator, admin. */
  expect: [number, number, number, number, number];
}

const PRIVATE = (operator: number, admin: number): Probe['expect'] => [401, 401, 401, operator, admin];

/**
 * The access matrix: every route the server serves, in the order the probes run (assign before close).
 * A route missing here, or listed here but not served, fails the test.
 */
const MATRIX: Array<[string, Probe]> = [
  ['GET /health/live', { path: () => '/health/live', expect: [200, 200, 200, 200, 200] }],
  ['GET /health/ready', { path: () => '/health/ready', expect: [200, 200, 200, 200, 200] }],
  // Public while METRICS_TOKEN is unset (the default).
  ['GET /metrics', { path: () => '/metrics', expect: [200, 200, 200, 200, 200] }],
  ['GET /docs', { path: () => '/docs', expect: [200, 200, 200, 200, 200] }],
  ['GET /docs-json', { path: () => '/docs-json', expect: [200, 200, 200, 200, 200] }],
  ['GET /docs-yaml', { path: () => '/docs-yaml', expect: [200, 200, 200, 200, 200] }],
  ['GET /docs/index.html', { path: () => '/docs/index.html', expect: [200, 200, 200, 200, 200] }],
  ['GET /docs/swagger-ui-init.js', { path: () => '/docs/swagger-ui-init.js', expect: [200, 200, 200, 200, 200] }],
  [
    'GET /docs/docs/swagger-ui-init.js',
    { path: () => '/docs/docs/swagger-ui-init.js', expect: [200, 200, 200, 200, 200] },
  ],
  // Swagger registers the route, but its package ships no LICENSE file: 404 for everyone.
  ['GET /docs/LICENSE', { path: () => '/docs/LICENSE', expect: [404, 404, 404, 404, 404] }],
  ['GET /redoc', { path: () => '/redoc', expect: [200, 200, 200, 200, 200] }],
  ['GET /redoc/redoc.standalone.js', { path: () => '/redoc/redoc.standalone.js', expect: [200, 200, 200, 200, 200] }],
  [
    'POST /auth/login',
    {
      path: () => '/auth/login',
      body: () => ({ email: 'admin@desk.test', password: 'admin-password-1' }),
      expect: [200, 200, 200, 200, 200],
    },
  ],
  // Personal access tokens: everyone manages their own; another's token is 404 to an operator.
  ['GET /auth/tokens', { path: () => '/auth/tokens', expect: PRIVATE(200, 200) }],
  [
    'POST /auth/tokens',
    { path: () => '/auth/tokens', body: (who) => ({ name: `Token ${who}` }), expect: PRIVATE(201, 201) },
  ],
  ['DELETE /auth/tokens/:id', { path: (f) => `/auth/tokens/${f.apiTokenId}`, expect: PRIVATE(404, 204) }],
  // An operator's bearer token is not the inbound token.
  [
    'POST /inbound/mail',
    { path: () => '/inbound/mail', body: () => ({ raw: 'eA==' }), expect: [401, 401, 401, 401, 401] },
  ],
  [
    'POST /requests/webhook/email',
    { path: () => '/requests/webhook/email', body: () => ({ messages: [] }), expect: [401, 401, 401, 401, 401] },
  ],
  // Without MAILGUN_SIGNING_KEY Mailgun's route refuses everyone with 503 (Mailgun retries) before the body.
  ['POST /inbound/mailgun', { path: () => '/inbound/mailgun', body: () => ({}), expect: [503, 503, 503, 503, 503] }],
  // An operator's bearer token is not the inbound token.
  ['POST /inbound/sendgrid', { path: () => '/inbound/sendgrid', body: () => ({}), expect: [401, 401, 401, 401, 401] }],
  ['POST /inbound/postmark', { path: () => '/inbound/postmark', body: () => ({}), expect: [401, 401, 401, 401, 401] }],
  // Public: SNS signs its messages (inbound-ses.e2e-spec.ts); an operator's token changes nothing.
  ['POST /inbound/ses', { path: () => '/inbound/ses', body: () => ({}), expect: [400, 400, 400, 400, 400] }],
  ['GET /operators', { path: () => '/operators', expect: PRIVATE(200, 200) }],
  [
    'POST /operators',
    {
      path: () => '/operators',
      body: (who) => ({ name: 'New', email: `new-${who}@desk.test`, password: 'new-password-1', role: 'operator' }),
      expect: PRIVATE(403, 201),
    },
  ],
  [
    'PATCH /operators/:id',
    { path: (f) => `/operators/${f.operatorId}`, body: () => ({ name: 'Renamed' }), expect: PRIVATE(403, 200) },
  ],
  // Every operator announces their own availability; an admin sets anyone's.
  [
    'PUT /operators/me/availability',
    { path: () => '/operators/me/availability', body: () => ({ available: false }), expect: PRIVATE(200, 200) },
  ],
  [
    'PUT /operators/:id/availability',
    {
      path: (f) => `/operators/${f.operatorId}/availability`,
      body: () => ({ available: false }),
      expect: PRIVATE(403, 200),
    },
  ],
  ['GET /requests', { path: () => '/requests', expect: PRIVATE(200, 200) }],
  ['GET /requests/:id', { path: (f) => `/requests/${f.requestId}`, expect: PRIVATE(200, 200) }],
  ['GET /requests/:id/events', { path: (f) => `/requests/${f.requestId}/events`, expect: PRIVATE(200, 200) }],
  ['GET /requests/:id/messages', { path: (f) => `/requests/${f.requestId}/messages`, expect: PRIVATE(200, 200) }],
  [
    'GET /requests/:id/messages/:messageId',
    { path: (f) => `/requests/${f.requestId}/messages/${f.messageId}`, expect: PRIVATE(200, 200) },
  ],
  // The operator takes the request; the admin then finds it taken.
  [
    'POST /requests/:id/assign',
    { path: (f) => `/requests/${f.requestId}/assign`, body: () => ({}), expect: PRIVATE(200, 409) },
  ],
  [
    'POST /requests/:id/messages',
    { path: (f) => `/requests/${f.requestId}/messages`, body: () => ({ text: 'On it.' }), expect: PRIVATE(201, 201) },
  ],
  ['POST /requests/:id/close', { path: (f) => `/requests/${f.requestId}/close`, expect: PRIVATE(200, 409) }],
  // Into itself: 400 shows the caller got past the guard.
  [
    'POST /requests/:id/merge',
    {
      path: (f) => `/requests/${f.requestId}/merge`,
      body: (_, f) => ({ intoId: f.requestId }),
      expect: PRIVATE(400, 400),
    },
  ],
  // Not a message of the request: 400 past the guard.
  [
    'POST /requests/:id/split',
    {
      path: (f) => `/requests/${f.requestId}/split`,
      body: () => ({ messageId: 2_000_000_000 }),
      expect: PRIVATE(400, 400),
    },
  ],
  // Closed by now: 409 shows the admin got past the guard.
  ['POST /requests/:id/unassign', { path: (f) => `/requests/${f.requestId}/unassign`, expect: PRIVATE(403, 409) }],
  [
    'PATCH /requests/:id/sla',
    {
      path: (f) => `/requests/${f.requestId}/sla`,
      body: () => ({ resolutionDueAt: '2030-01-01T00:00:00Z' }),
      expect: PRIVATE(403, 200),
    },
  ],
  [
    'PUT /requests/:id/participants',
    {
      path: (f) => `/requests/${f.requestId}/participants`,
      body: () => ({ participants: [{ email: 'pat@example.com', name: 'Pat' }] }),
      expect: PRIVATE(200, 200),
    },
  ],
  ['GET /requests/:id/presence', { path: (f) => `/requests/${f.requestId}/presence`, expect: PRIVATE(200, 200) }],
  [
    'PUT /requests/:id/presence',
    { path: (f) => `/requests/${f.requestId}/presence`, body: () => ({ state: 'viewing' }), expect: PRIVATE(200, 200) },
  ],
  ['DELETE /requests/:id/presence', { path: (f) => `/requests/${f.requestId}/presence`, expect: PRIVATE(204, 204) }],
  [
    'PATCH /requests/:id',
    { path: (f) => `/requests/${f.requestId}`, body: () => ({ priority: 'high' }), expect: PRIVATE(200, 200) },
  ],
  [
    'PUT /requests/:id/tags',
    { path: (f) => `/requests/${f.requestId}/tags`, body: () => ({ tags: ['Billing'] }), expect: PRIVATE(200, 200) },
  ],
  ['GET /tags', { path: () => '/tags', expect: PRIVATE(200, 200) }],
  // The audit log: admins only.
  ['GET /audit', { path: () => '/audit', expect: PRIVATE(403, 200) }],
  // A stream never ends: probed with a Last-Event-ID that is refused (400) once the token passed.
  ['GET /events/stream', { path: () => '/events/stream?lastEventId=x', expect: PRIVATE(400, 400) }],
  ['GET /reports/summary', { path: () => '/reports/summary?period=month', expect: PRIVATE(200, 200) }],
  // Public: the signed token is the credential; a forged one is 400 for everyone.
  ['GET /feedback/:token', { path: () => '/feedback/1.5.9999999999.forged', expect: [400, 400, 400, 400, 400] }],
  ['GET /attachments/:id', { path: (f) => `/attachments/${f.attachmentId}`, expect: PRIVATE(200, 200) }],
  [
    'POST /requests/:id/notes',
    { path: (f) => `/requests/${f.requestId}/notes`, body: () => ({ text: 'Internal.' }), expect: PRIVATE(201, 201) },
  ],
  // A closed request may be forwarded too.
  [
    'POST /requests/:id/forward',
    {
      path: (f) => `/requests/${f.requestId}/forward`,
      body: () => ({ to: 'vendor@matrix.test', text: 'FYI' }),
      expect: PRIVATE(201, 201),
    },
  ],
  // No such side thread: 404 shows the caller got past the guard.
  [
    'POST /requests/:id/side-threads/:sideThreadId/messages',
    {
      path: (f) => `/requests/${f.requestId}/side-threads/999999/messages`,
      body: () => ({ text: 'Any news?' }),
      expect: PRIVATE(404, 404),
    },
  ],
  ['GET /customers', { path: () => '/customers?q=carol', expect: PRIVATE(200, 200) }],
  ['GET /customers/:id', { path: (f) => `/customers/${f.customerId}`, expect: PRIVATE(200, 200) }],
  [
    'PATCH /customers/:id',
    { path: (f) => `/customers/${f.customerId}`, body: () => ({ name: 'Carol C' }), expect: PRIVATE(403, 200) },
  ],
  // The customer's rights (issue 22): admins only. The erasure's probe sends a wrong confirmation
  // (400 shows the admin got past the guard and the customer stays for the probes after it).
  ['GET /customers/:id/export', { path: (f) => `/customers/${f.customerId}/export`, expect: PRIVATE(403, 200) }],
  [
    'DELETE /customers/:id',
    {
      path: (f) => `/customers/${f.customerId}`,
      body: () => ({ confirm: 'someone-else@example.com' }),
      expect: PRIVATE(403, 400),
    },
  ],
  ['GET /groups', { path: () => '/groups', expect: PRIVATE(200, 200) }],
  ['POST /groups', { path: () => '/groups', body: (who) => ({ name: `Group ${who}` }), expect: PRIVATE(403, 201) }],
  [
    'PATCH /groups/:id',
    { path: (f) => `/groups/${f.groupId}`, body: (who) => ({ name: `Renamed ${who}` }), expect: PRIVATE(403, 200) },
  ],
  ['DELETE /groups/:id', { path: (f) => `/groups/${f.doomedGroupId}`, expect: PRIVATE(403, 204) }],
  ['GET /saved-replies', { path: () => '/saved-replies', expect: PRIVATE(200, 200) }],
  // Global replies are the admins' (operators manage their groups' replies; this one is in none).
  [
    'POST /saved-replies',
    { path: () => '/saved-replies', body: (who) => ({ name: `Reply ${who}`, text: 'Hi' }), expect: PRIVATE(403, 201) },
  ],
  [
    'PATCH /saved-replies/:id',
    { path: (f) => `/saved-replies/${f.savedReplyId}`, body: () => ({ text: 'Hello' }), expect: PRIVATE(403, 200) },
  ],
  ['DELETE /saved-replies/:id', { path: (f) => `/saved-replies/${f.doomedSavedReplyId}`, expect: PRIVATE(403, 204) }],
  ['GET /blocklist', { path: () => '/blocklist', expect: PRIVATE(403, 200) }],
  [
    'POST /blocklist',
    { path: () => '/blocklist', body: (who) => ({ pattern: `@${who}.example` }), expect: PRIVATE(403, 201) },
  ],
  ['DELETE /blocklist/:id', { path: (f) => `/blocklist/${f.blocklistId}`, expect: PRIVATE(403, 204) }],
  ['GET /webhooks', { path: () => '/webhooks', expect: PRIVATE(403, 200) }],
  [
    'POST /webhooks',
    {
      path: () => '/webhooks',
      body: () => ({ url: 'http://127.0.0.1:9/hook', events: ['request.created'] }),
      expect: PRIVATE(403, 201),
    },
  ],
  ['GET /webhooks/:id/deliveries', { path: (f) => `/webhooks/${f.webhookId}/deliveries`, expect: PRIVATE(403, 200) }],
  ['DELETE /webhooks/:id', { path: (f) => `/webhooks/${f.doomedWebhookId}`, expect: PRIVATE(403, 204) }],
  ['GET /inbound/quarantine', { path: () => '/inbound/quarantine', expect: PRIVATE(403, 200) }],
  // Not quarantined: 409 shows the admin got past the guard.
  [
    'POST /inbound/quarantine/:id/replay',
    { path: (f) => `/inbound/quarantine/${f.inboundId}/replay`, expect: PRIVATE(403, 409) },
  ],
  ['GET /mailboxes', { path: () => '/mailboxes', expect: PRIVATE(403, 200) }],
  ['GET /mailboxes/:id', { path: (f) => `/mailboxes/${f.mailboxId}`, expect: PRIVATE(403, 200) }],
  [
    'POST /mailboxes',
    {
      path: () => '/mailboxes',
      body: (who) => ({ name: who, address: `${who}@matrix.test` }),
      expect: PRIVATE(403, 201),
    },
  ],
  [
    'PATCH /mailboxes/:id',
    { path: (f) => `/mailboxes/${f.mailboxId}`, body: () => ({ signature: 'Thanks' }), expect: PRIVATE(403, 200) },
  ],
  ['DELETE /mailboxes/:id', { path: (f) => `/mailboxes/${f.doomedMailboxId}`, expect: PRIVATE(403, 200) }],
  // No such mailbox: 404 shows the admin got past the guard.
  [
    'GET /mailboxes/:id/oauth2/authorize',
    { path: () => '/mailboxes/999999/oauth2/authorize', expect: PRIVATE(403, 404) },
  ],
  // Public: the one-use state is the credential; an unknown one is 400 for everyone.
  ['GET /oauth2/callback', { path: () => '/oauth2/callback?code=x&state=unknown', expect: [400, 400, 400, 400, 400] }],
  ['GET /outbox', { path: () => '/outbox', expect: PRIVATE(403, 200) }],
  // Pending or sent, not failed: 409 past the guard.
  ['POST /outbox/:id/retry', { path: (f) => `/outbox/${f.outboxId}/retry`, expect: PRIVATE(403, 409) }],
];

const MAIL_WITH_ATTACHMENT = [
  'From: Carol <carol@example.com>',
  'To: support@desk.test',
  'Subject: Screenshot',
  'Message-ID: <matrix-1@example.com>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'See attached.',
  '--b',
  'Content-Type: text/plain; name="notes.txt"',
  'Content-Disposition: attachment; filename="notes.txt"',
  '',
  'some notes',
  '--b--',
  '',
].join('\r\n');

describe('access matrix: every route x who calls', () => {
  let t: TestApp;
  let fixtures: Fixtures;
  const tokens = {} as Record<Who, string | undefined>;

  async function createOperator(admin: string, email: string, password: string): Promise<number> {
    const res = await t
      .http()
      .post('/operators')
      .set('Authorization', `Bearer ${admin}`)
      .send({ name: email.split('@')[0], email, password, role: 'operator' });
    expect(res.status).toBe(201);
    return res.body.id as number;
  }

  beforeAll(async () => {
    // POST /webhooks registers http://127.0.0.1:9/hook (a closed port: nothing is ever delivered).
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    const admin = await t.adminToken();
    await createOperator(admin, 'op@desk.test', 'op-password-1');
    const goneId = await createOperator(admin, 'gone@desk.test', 'gone-password-1');
    const targetId = await createOperator(admin, 'target@desk.test', 'target-password-1');
    tokens.admin = admin;
    tokens.operator = await t.login('op@desk.test', 'op-password-1');
    tokens.deactivated = await t.login('gone@desk.test', 'gone-password-1');
    const off = await t
      .http()
      .patch(`/operators/${goneId}`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ active: false });
    expect(off.status).toBe(200);
    // Valid signature, current token version, but expired.
    tokens.expired = await new JwtService({ secret: t.config.auth.jwtSecret }).signAsync(
      { sub: '1', tv: 0, role: 'admin' },
      { expiresIn: -10 },
    );
    const ingested = await postRaw(t, Buffer.from(MAIL_WITH_ATTACHMENT));
    expect(ingested.body.results[0].status).toBe('created');
    const requestId = ingested.body.results[0].requestId as number;
    const [inbound] = await t.db.dataSource.query('SELECT id FROM inbound_mail ORDER BY id LIMIT 1');
    const [outbox] = await t.db.dataSource.query('SELECT id FROM outbox ORDER BY id LIMIT 1');
    const [attachment] = await t.db.dataSource.query('SELECT id FROM attachments ORDER BY id LIMIT 1');
    const [message] = await t.db.dataSource.query('SELECT id FROM messages ORDER BY id LIMIT 1');
    const [customer] = await t.db.dataSource.query(`SELECT id FROM customers WHERE email = 'carol@example.com'`);
    const [blocked] = await t.db.dataSource.query(
      `INSERT INTO blocklist (pattern) VALUES ('@matrix.example') RETURNING id`,
    );
    const hooks = await t.db.dataSource.query(
      `INSERT INTO webhooks (url, events, secret) VALUES ('http://127.0.0.1:9/a', '{request.created}', 's'), ('http://127.0.0.1:9/b', '{request.created}', 's') RETURNING id`,
    );
    const [group, doomedGroup] = await t.db.dataSource.query(
      `INSERT INTO groups (name) VALUES ('Matrix'), ('Doomed') RETURNING id`,
    );
    const [reply, doomedReply] = await t.db.dataSource.query(
      `INSERT INTO saved_replies (name, text) VALUES ('Matrix', 'Hi'), ('Doomed', 'Bye') RETURNING id`,
    );
    const [apiToken] = await t.db.dataSource.query(
      `INSERT INTO api_tokens (operator_id, name, prefix, token_hash, operator_token_version)
         SELECT id, 'Matrix', 'matrixAA', repeat('a', 64), token_version FROM operators WHERE email = 'admin@desk.test'
         RETURNING id`,
    );
    const [defaultMailbox] = await t.db.dataSource.query(`SELECT id FROM mailboxes WHERE is_default`);
    const [doomedMailbox] = await t.db.dataSource.query(
      `INSERT INTO mailboxes (name, address) VALUES ('Doomed', 'doomed@matrix.test') RETURNING id`,
    );
    fixtures = {
      requestId,
      operatorId: targetId,
      inboundId: Number(inbound.id),
      outboxId: Number(outbox.id),
      attachmentId: attachment.id,
      messageId: message.id,
      customerId: customer.id,
      blocklistId: blocked.id,
      webhookId: hooks[0].id,
      doomedWebhookId: hooks[1].id,
      groupId: group.id,
      doomedGroupId: doomedGroup.id,
      mailboxId: defaultMailbox.id,
      doomedMailboxId: doomedMailbox.id,
      savedReplyId: reply.id,
      doomedSavedReplyId: doomedReply.id,
      apiTokenId: apiToken.id,
    };
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lists exactly the routes the server serves (a new route must be added to the matrix)', () => {
    // Wildcard paths are middleware mounts (logging, metrics), not endpoints.
    const served = new Set([...serverRoutes(t), ...nestRoutes(t)].filter((r) => !r.path.includes('*')).map(routeKey));
    expect(MATRIX.map(([k]) => k).sort()).toEqual([...served].sort());
  });

  it('answers every route with the expected status for each caller', async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const [key, probe] of MATRIX) {
      const method = key.split(' ')[0].toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      for (const [i, who] of WHO.entries()) {
        let req = t.http()[method](probe.path(fixtures));
        if (tokens[who]) req = req.set('Authorization', `Bearer ${tokens[who]}`);
        const res = probe.body ? await req.send(probe.body(who, fixtures) as object) : await req;
        got.push(`${key} as ${who} -> ${res.status}`);
        want.push(`${key} as ${who} -> ${probe.expect[i]}`);
        if (res.status === 401 || res.status === 403) {
          expect(res.body).toMatchObject({ statusCode: res.status, error: expect.any(String) });
        }
      }
    }
    expect(got).toEqual(want);
  });
});

describe('token revocation by token_version', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_RATE_LIMIT: '1000' });
  });

  afterAll(async () => {
    await t?.close();
  });

  async function newOperator(
    email: string,
    role: 'operator' | 'admin' = 'operator',
  ): Promise<{ id: number; token: string }> {
    const admin = await t.adminToken();
    const res = await t
      .http()
      .post('/operators')
      .set('Authorization', `Bearer ${admin}`)
      .send({ name: 'X', email, password: 'first-password-1', role });
    expect(res.status).toBe(201);
    return { id: res.body.id, token: await t.login(email, 'first-password-1') };
  }

  const me = (token: string) => t.http().get('/operators').set('Authorization', `Bearer ${token}`);
  const patch = async (id: number, body: object) =>
    t
      .http()
      .patch(`/operators/${id}`)
      .set('Authorization', `Bearer ${await t.adminToken()}`)
      .send(body);

  it('ends existing tokens when the password changes; the new password works', async () => {
    const { id, token } = await newOperator('pw@desk.test');
    expect((await me(token)).status).toBe(200);
    expect((await patch(id, { password: 'second-password-2' })).status).toBe(200);
    expect((await me(token)).status).toBe(401);
    const fresh = await t.login('pw@desk.test', 'second-password-2');
    expect((await me(fresh)).status).toBe(200);
    const old = await t.http().post('/auth/login').send({ email: 'pw@desk.test', password: 'first-password-1' });
    expect(old.status).toBe(401);
  });

  it('ends existing tokens on deactivation, and reactivation does not bring them back', async () => {
    const { id, token } = await newOperator('off@desk.test');
    expect((await patch(id, { active: false })).status).toBe(200);
    expect((await me(token)).status).toBe(401);
    expect((await patch(id, { active: true })).status).toBe(200);
    expect((await me(token)).status).toBe(401);
    expect((await me(await t.login('off@desk.test', 'first-password-1'))).status).toBe(200);
  });

  it('takes a demoted admin’s admin rights at once, whatever role the token claims', async () => {
    const { id, token } = await newOperator('boss2@desk.test', 'admin');
    expect((await t.http().get('/outbox').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect((await patch(id, { role: 'operator' })).status).toBe(200);
    expect((await t.http().get('/outbox').set('Authorization', `Bearer ${token}`)).status).toBe(403);
  });

  it('refuses a token carrying an older token version', async () => {
    const { id } = await newOperator('tv@desk.test');
    await patch(id, { password: 'second-password-2' });
    const stale = await new JwtService({ secret: t.config.auth.jwtSecret }).signAsync({
      sub: String(id),
      tv: 0,
      role: 'operator',
    });
    expect((await me(stale)).status).toBe(401);
    const current = await new JwtService({ secret: t.config.auth.jwtSecret }).signAsync({
      sub: String(id),
      tv: 1,
      role: 'operator',
    });
    expect((await me(current)).status).toBe(200);
  });
});
