import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { createTestApp, TEST_ADMIN, TestApp } from '../setup/app';
import { freePort } from '../setup/app-process';
import { browserAvailable, launchBrowser } from '../setup/browser';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

/** Where the journey's screenshots go (docs/swagger for the committed set); unset: none are taken. */
const SHOTS = process.env.SWAGGER_SCREENSHOTS;
/** Playwright's wait for each element and each Execute: CI is loaded, Swagger UI renders 55 operations. */
const UI_TIMEOUT = 30_000;

/** What Swagger UI's "Server response" panel shows after Execute. */
interface Shown {
  code: number;
  body: unknown;
}

/**
 * Swagger UI at /docs driven in Debian's Chromium (playwright-core, no browser download) the way
 * an operator first meets the API: log in, Authorize with the token, list the queue, take the
 * request, reply, close. Each step asserts the code Swagger UI shows and, where cheap, the state
 * behind it (the database, the mails the SMTP sink got). The steps run in order; once one fails
 * the later ones fail at once, naming it. With SWAGGER_SCREENSHOTS=docs/swagger each step leaves
 * a PNG there (docs/swagger.md shows the committed set).
 */
(browserAvailable() ? describe : describe.skip)('Swagger UI in a real browser', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let browser: Browser;
  let page: Page;
  let base: string;
  let requestId: number;
  let token: string;
  let adminId: number;
  /** Script errors and console errors of the page (a CSP refusal is one). */
  const pageErrors: string[] = [];
  /** The step that started and did not finish, if any. */
  let broken: string | undefined;
  const customer = 'dana@customer.test';
  const subject = 'VPN drops every hour';
  const reply = 'Please update the VPN client to 5.2; the hourly drop is fixed there.';
  const mailsTo = (to: string) => sink.mails.filter((m) => m.envelope.to.includes(to));

  /** Runs one step of the journey unless an earlier one failed (its failure is the one to read). */
  function step(name: string, fn: () => Promise<void>) {
    it(
      name,
      async () => {
        if (broken) throw new Error(`skipped: the step "${broken}" failed`);
        broken = name;
        await fn();
        broken = undefined;
      },
      90_000,
    );
  }

  /** One operation's block by its Swagger UI id (tag and operationId: `operations-<tag>-<operationId>`). */
  const operation = (id: string) => page.locator(`#operations-${id}`);

  /** Expands an operation (unless it is open) and presses "Try it out". */
  async function tryItOut(id: string): Promise<Locator> {
    const op = operation(id);
    await op.scrollIntoViewIfNeeded();
    if (!(await op.getAttribute('class'))?.split(/\s+/).includes('is-open'))
      await op.locator('.opblock-summary-control').click();
    await op.locator('button.try-out__btn').click();
    await op.locator('button.execute').waitFor();
    return op;
  }

  /** Fills path parameters and the JSON body, presses Execute and reads the response panel. */
  async function execute(
    op: Locator,
    input: { params?: Record<string, string | number>; body?: unknown },
  ): Promise<Shown> {
    for (const [name, value] of Object.entries(input.params ?? {}))
      await op.locator(`tr[data-param-name="${name}"] input`).fill(String(value));
    if (input.body !== undefined)
      await op.locator('textarea.body-param__text').fill(JSON.stringify(input.body, null, 2));
    await op.locator('button.execute').click();
    const row = op.locator('.live-responses-table tr.response').first();
    await row.waitFor();
    const code = Number((await row.locator('.response-col_status').innerText()).trim());
    const text = await row.locator('.response-col_description .highlight-code pre').first().innerText();
    return { code, body: JSON.parse(text) };
  }

  /**
   * Saves a screenshot of an operation, from its title down to the response body Swagger UI shows
   * (at most 1,200 px high: the bottom is kept), or of `what` itself.
   */
  async function shot(file: string, what: Locator): Promise<void> {
    if (!SHOTS) return;
    const body = what.locator('.live-responses-table .highlight-code');
    const bottomOf = (await body.count()) ? body.first() : what;
    await bottomOf.scrollIntoViewIfNeeded();
    const [a, b] = [await what.boundingBox(), await bottomOf.boundingBox()];
    if (!a || !b) throw new Error(`screenshot ${file}: element not visible`);
    const scrollY = await page.evaluate<number>('window.scrollY');
    const bottom = b.y + b.height + 8;
    const top = Math.max(a.y - 8, bottom - 1200);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({
      path: path.join(SHOTS, file),
      fullPage: true,
      clip: { x: Math.max(0, a.x - 8), y: top + scrollY, width: a.width + 16, height: bottom - top },
    });
  }

  beforeAll(async () => {
    sink = await SmtpSink.start();
    // Swagger UI sends "Try it out" to the document's server, http://HOST:PORT: the app listens there.
    const port = await freePort();
    t = await createTestApp({ SMTP_URL: sink.url, HOST: '127.0.0.1', PORT: String(port) });
    const server = t.app.getHttpServer() as http.Server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${port}`;
    const res = await postRaw(t, rawMail({ from: `Dana <${customer}>`, subject, messageId: 'vpn-1@customer.test' }));
    expect(res.status).toBe(200);
    requestId = res.body.results[0].requestId as number;
    await waitFor(async () => mailsTo(customer).length === 1);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(UI_TIMEOUT);
    page.setDefaultNavigationTimeout(60_000);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sink?.stop();
  });

  step('1. logs in with POST /auth/login and reads the token from the response panel', async () => {
    await page.goto(`${base}/docs`);
    // For the pictures only: a body editor and response panels sized to their content.
    if (SHOTS)
      await page.addStyleTag({
        content:
          '.swagger-ui .opblock-body textarea { min-height: 0; height: 7.5em } .swagger-ui .highlight-code > .microlight { max-height: 230px }',
      });
    const login = await tryItOut('auth-AuthController_login');
    const shown = await execute(login, { body: { email: TEST_ADMIN.email, password: TEST_ADMIN.password } });
    expect(shown).toMatchObject({ code: 200, body: { tokenType: 'Bearer', operator: { email: TEST_ADMIN.email } } });
    const body = shown.body as { accessToken: string; operator: { id: number } };
    token = body.accessToken;
    adminId = body.operator.id;
    expect((await t.http().get('/requests').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    await shot('1-login.png', login);
  });

  step('2. pastes the token into Authorize', async () => {
    await page.locator('.scheme-container button.authorize').click();
    const form = page
      .locator('.modal-ux .auth-container')
      .filter({ has: page.locator('h4 code', { hasText: /^operator$/ }) });
    await form.locator('input').fill(token);
    await form.locator('button.authorize').click();
    // Authorized: the form shows "Logout" ("Remove authorization") in place of "Authorize".
    await form.locator('button[aria-label="Remove authorization"]').waitFor();
    await shot('2-authorize.png', page.locator('.modal-ux-inner'));
    await form.locator('button.btn-done').click();
    await page.locator('.modal-ux').waitFor({ state: 'detached' });
    await page.locator('.scheme-container button.authorize.locked').waitFor();
  });

  step('3. lists the queue with GET /requests', async () => {
    const list = await tryItOut('requests-RequestsController_list');
    // "Try it out" fills a field with its example: the filters have none, so a first try is not
    // narrowed to a customer, a text or tags that match nothing.
    const filters = [
      'operatorId',
      'mailboxId',
      'groupId',
      'customer',
      'createdFrom',
      'createdTo',
      'q',
      'priority',
      'tag',
    ];
    for (const name of filters) {
      const value = await list.locator(`tr[data-param-name="${name}"][data-param-in="query"] input`).inputValue();
      expect({ name, value }).toEqual({ name, value: '' });
    }
    // The status and sort examples are harmless; the operator asks for the new requests only.
    for (const input of await list.locator('tr[data-param-in="query"] input').all()) await input.fill('');
    for (const select of await list.locator('tr[data-param-in="query"] select').all()) await select.selectOption('');
    const shown = await execute(list, { params: { status: 'new' } });
    expect(await list.locator('.request-url pre').innerText()).toBe(`${base}/requests?status=new`);
    expect(shown).toMatchObject({ code: 200, body: { items: [{ id: requestId, subject, status: 'new' }] } });
    await shot('3-queue.png', list);
  });

  step('4. takes the request with POST /requests/{id}/assign', async () => {
    const assign = await tryItOut('requests-MessagesController_assign');
    const shown = await execute(assign, { params: { id: requestId }, body: {} });
    expect(shown).toMatchObject({
      code: 200,
      body: { id: requestId, status: 'in_progress', operator: { id: adminId } },
    });
    const [row] = await sql<{ status: string; operator_id: number }>(
      t,
      'SELECT status, operator_id FROM requests WHERE id = $1',
      [requestId],
    );
    expect(row).toEqual({ status: 'in_progress', operator_id: adminId });
    await shot('4-take.png', assign);
  });

  step('5. replies with POST /requests/{id}/messages, and the customer gets the mail', async () => {
    const post = await tryItOut('requests-MessagesController_post');
    const shown = await execute(post, { params: { id: requestId }, body: { text: reply } });
    expect(shown).toMatchObject({ code: 201, body: { kind: 'operator', direction: 'out', text: reply } });
    const mail = await waitFor(async () => mailsTo(customer).find((m) => m.parsed.text?.includes(reply)), 20_000);
    expect(mail.parsed.inReplyTo).toBe('<vpn-1@customer.test>');
    await shot('5-reply.png', post);
  });

  step('6. closes it with POST /requests/{id}/close, and the customer gets the closing mail', async () => {
    const close = await tryItOut('requests-MessagesController_close');
    const shown = await execute(close, { params: { id: requestId } });
    expect(shown).toMatchObject({ code: 200, body: { id: requestId, status: 'closed' } });
    const closing = await waitFor(
      async () => mailsTo(customer).find((m) => m.parsed.text?.includes(`#${requestId} "${subject}" has been closed`)),
      20_000,
    );
    expect(closing.parsed.inReplyTo).toBe('<vpn-1@customer.test>');
    await shot('6-close.png', close);
  });

  step('7. ran without a script error or a refusal of the docs CSP in the console', async () => {
    expect(pageErrors).toEqual([]);
  });
});
