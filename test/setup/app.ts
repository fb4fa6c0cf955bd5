import { INestApplication } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { createApp } from '../../src/app';
import { AppConfig, loadConfig } from '../../src/config/config';
import { createTestDatabase, DatabaseKind, TestDatabase } from './database';
import type { TestPgBouncer } from './pgbouncer';

export const TEST_ADMIN = { email: 'admin@desk.test', password: 'admin-password-1' };
export const TEST_INBOUND_TOKEN = 'test-inbound-token-0123456789';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  db: TestDatabase;
  dataDir: string;
  /** supertest against the in-process HTTP server. */
  http(): ReturnType<typeof request>;
  /** Bearer token of the seeded admin. */
  adminToken(): Promise<string>;
  login(email: string, password: string): Promise<string>;
  /** Creates an operator (`role` operator by default) as the admin, asserts the 201, and logs in. */
  createOperator(op: {
    name: string;
    email: string;
    password: string;
    role?: 'operator' | 'admin';
  }): Promise<{ id: number; token: string }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * The app's pool goes through this PgBouncer (transaction mode): DATABASE_URL is the database
   * through it, DATABASE_POOLER=pgbouncer and DATABASE_DIRECT_URL the database itself.
   */
  pgbouncer?: TestPgBouncer;
  /** An existing database (another instance's): not dropped by close(). */
  db?: TestDatabase;
}

/**
 * The whole application on a fresh test database, configured like production but for the
 * values given in `env` (plain environment variables, validated by the same loadConfig); `kind`
 * picks the database (forEachDatabase), else PostgreSQL when it answers.
 */
export async function createTestApp(
  env: Record<string, string> | ((db: TestDatabase) => Record<string, string>) = {},
  kind?: DatabaseKind,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const resolve = (db: TestDatabase) => (typeof env === 'function' ? env(db) : env);
  if (options.db) return createTestAppOn(options.db, resolve(options.db), false, options.pgbouncer);
  const db = await createTestDatabase(kind);
  try {
    return await createTestAppOn(db, resolve(db), true, options.pgbouncer);
  } catch (e) {
    await db.drop();
    throw e;
  }
}

/**
 * The application on an existing test database (another instance of the same desk: several
 * instances behind nginx); `close()` drops the database only when `ownsDatabase`. With
 * `pgbouncer`, the app's pool goes through it (TestAppOptions.pgbouncer).
 */
export async function createTestAppOn(
  db: TestDatabase,
  env: Record<string, string> = {},
  ownsDatabase = false,
  pgbouncer?: TestPgBouncer,
): Promise<TestApp> {
  const url = pgbouncer ? pgbouncer.urlFor(db.url) : db.url;
  const pooled = pgbouncer ? { DATABASE_URL: url, DATABASE_POOLER: 'pgbouncer', DATABASE_DIRECT_URL: db.url } : {};
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    SUPPORT_ADDRESS: 'support@desk.test',
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    INBOUND_TOKEN: TEST_INBOUND_TOKEN,
    JWT_SECRET: 'test-jwt-secret-0123456789abcdef',
    OUTBOX_POLL_MS: '100',
    LOG_LEVEL: 'warn',
    ...pooled,
    ...env,
  });
  const app = await createApp(config, url, process.env.TEST_LOGS ? undefined : ['error']);
  await app.init();
  // Fastify serves once its plugins (Swagger UI's static files, multipart) have loaded.
  await app.getHttpAdapter().getInstance().ready();
  let admin: string | undefined;
  const t: TestApp = {
    app,
    config,
    db,
    dataDir,
    http: () => request(app.getHttpServer()),
    async login(email, password) {
      const res = await request(app.getHttpServer()).post('/auth/login').send({ email, password });
      if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.accessToken as string;
    },
    async createOperator({ name, email, password, role = 'operator' }) {
      const res = await request(app.getHttpServer())
        .post('/operators')
        .set('Authorization', `Bearer ${await t.adminToken()}`)
        .send({ name, email, password, role });
      expect(res.status).toBe(201);
      return { id: res.body.id as number, token: await t.login(email, password) };
    },
    async adminToken() {
      admin ??= await t.login(TEST_ADMIN.email, TEST_ADMIN.password);
      return admin;
    },
    async close() {
      await app.close();
      if (ownsDatabase) await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** supertest's parser for a binary answer (a download, a zip): `.buffer(true).parse(binaryBody)` gives the body as one Buffer. */
export function binaryBody(res: request.Response, done: (err: Error | null, body: Buffer) => void): void {
  // superagent hands Node's response stream, typed as its Response.
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}
