import { createTestApp, TestApp } from '../setup/app';

describe('/health', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('is live without a token', async () => {
    const res = await t.http().get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('is ready when the database answers and every migration is applied', async () => {
    const res = await t.http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', database: 'up', migrations: 'applied' });
  });

  it('reports the IMAP poller (off without IMAP_URL) and the outbox backlog', async () => {
    const res = await t.http().get('/health/ready');
    expect(res.body.imap).toEqual({
      enabled: false,
      leader: false,
      lastSuccessAt: null,
      lastError: null,
      backlog: null,
    });
    expect(res.body.outbox).toEqual({ pending: 0, due: 0, failed: 0, oldestDueAt: null });
  });

  it('answers 503 JSON while a migration is pending', async () => {
    const rows: Array<{ id: number; timestamp: string; name: string }> = await t.db.dataSource.query(
      'SELECT id, timestamp, name FROM typeorm_migrations',
    );
    expect(rows.length).toBeGreaterThan(0);
    await t.db.dataSource.query('DELETE FROM typeorm_migrations');
    try {
      const res = await t.http().get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'database migrations are pending',
        requestId: expect.any(String),
      });
    } finally {
      for (const r of rows) {
        await t.db.dataSource.query('INSERT INTO typeorm_migrations (id, timestamp, name) VALUES ($1, $2, $3)', [
          r.id,
          r.timestamp,
          r.name,
        ]);
      }
    }
    expect((await t.http().get('/health/ready')).status).toBe(200);
  });
});
