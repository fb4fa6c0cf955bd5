import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createApp } from '../../src/app';
import { AutoAssignmentService } from '../../src/requests/auto-assignment.service';
import { createTestApp, TEST_INBOUND_TOKEN, TestApp } from '../setup/app';
import { forEachDatabase } from '../setup/database';
import { postRaw, rawMail, sql, waitFor } from '../setup/mail';
import { SmtpSink } from '../setup/smtp-sink';

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Desk {
  t: TestApp;
  admin: string;
  groupId: number;
  ops: Record<string, { id: number; token: string }>;
}

/** An app whose default mailbox files every mail in group "Support", with operators `names` in that group. */
async function desk(env: Record<string, string>, kind: 'postgres' | 'embedded', names: string[]): Promise<Desk> {
  const t = await createTestApp(
    { LOGIN_RATE_LIMIT: '1000', OUTBOX_RETRY_BASE_MS: '100', AUTO_ASSIGNMENT_SWEEP_SECONDS: '1', ...env },
    kind,
  );
  const admin = await t.adminToken();
  const group = await t.http().post('/groups').set(auth(admin)).send({ name: 'Support' }).expect(201);
  const groupId = group.body.id as number;
  const mailboxes = await t.http().get('/mailboxes').set(auth(admin)).expect(200);
  const support = mailboxes.body.items.find((m: { address: string }) => m.address === 'support@desk.test');
  await t.http().patch(`/mailboxes/${support.id}`).set(auth(admin)).send({ groupId }).expect(200);
  const ops: Desk['ops'] = {};
  for (const name of names) {
    const email = `${name.toLowerCase()}@desk.test`;
    ops[name] = await t.createOperator({ name, email, password: `${name}-password-1` });
    await t
      .http()
      .patch(`/operators/${ops[name].id}`)
      .set(auth(admin))
      .send({ groupIds: [groupId] })
      .expect(200);
  }
  return { t, admin, groupId, ops };
}

/** Every request's assignee and how many automatic `assigned` events it has. */
async function assignments(
  t: TestApp,
): Promise<Array<{ id: number; status: string; operator_id: number | null; n: number }>> {
  return sql(
    t,
    `SELECT r.id, r.status, r.operator_id,
            (SELECT count(*)::int FROM request_events e
              WHERE e.request_id = r.id AND e.type = 'assigned' AND (e.data->>'auto')::boolean) AS n
       FROM requests r ORDER BY r.id`,
  );
}

/**
 * Automatic assignment per group (docs/assignment.md): off by default; round robin and least
 * loaded among the group's available operators under their capacity; the customer's assignment
 * mail as for a take; an operator who becomes unavailable hands their requests back to be
 * assigned again; two instances assigning at once never exceed a capacity nor assign twice.
 */
forEachDatabase('automatic assignment', (kind) => {
  describe('through the REST API', () => {
    let d: Desk;
    let sink: SmtpSink;
    let n = 0;
    const mail = async (): Promise<{ id: number; from: string }> => {
      n += 1;
      const from = `cust${n}@example.com`;
      const res = await postRaw(d.t, rawMail({ from, subject: `Help ${n}`, messageId: `auto-${n}@example.com` }));
      expect(res.body.results[0].status).toBe('created');
      return { id: res.body.results[0].requestId as number, from };
    };
    const get = async (id: number) => (await d.t.http().get(`/requests/${id}`).set(auth(d.admin)).expect(200)).body;
    const available = (name: string, value: boolean) =>
      d.t.http().put('/operators/me/availability').set(auth(d.ops[name].token)).send({ available: value });

    beforeAll(async () => {
      sink = await SmtpSink.start();
      d = await desk({ SMTP_URL: sink.url }, kind, ['Ann', 'Ben', 'Cat']);
    }, 120_000);

    afterAll(async () => {
      await d?.t.close();
      await sink?.stop();
    });

    it('is off by default; admins set a group to round robin (validated), shown on GET /groups', async () => {
      const list = await d.t.http().get('/groups').set(auth(d.ops.Ann.token)).expect(200);
      expect(list.body.items).toEqual([
        { id: d.groupId, name: 'Support', assignment: 'off', reassignWhenUnavailable: false },
      ]);
      await available('Ann', true).expect(200);
      const waiting = await mail();
      await sleep(1500);
      expect(await get(waiting.id)).toMatchObject({ status: 'new' });

      const patch = (token: string, body: unknown) =>
        d.t
          .http()
          .patch(`/groups/${d.groupId}`)
          .set(auth(token))
          .send(body as object);
      await patch(d.ops.Ann.token, { assignment: 'round_robin' }).expect(403);
      for (const bad of [{ assignment: 'random' }, { reassignWhenUnavailable: 'yes' }, {}, { assignment: null }]) {
        await patch(d.admin, bad).expect(400);
      }
      await d.t.http().patch('/groups/999999').set(auth(d.admin)).send({ assignment: 'round_robin' }).expect(404);
      const set = await patch(d.admin, { assignment: 'round_robin' }).expect(200);
      expect(set.body).toEqual({
        id: d.groupId,
        name: 'Support',
        assignment: 'round_robin',
        reassignWhenUnavailable: false,
      });

      // The request that waited goes to the one available operator, with the assignment mail.
      await waitFor(async () => (await get(waiting.id)).status === 'in_progress', 20_000);
      expect(await get(waiting.id)).toMatchObject({ operator: expect.objectContaining({ id: d.ops.Ann.id }) });
      const assigned = await waitFor(
        async () =>
          sink.mails.find((m) => m.envelope.to.includes(waiting.from) && /handled by Ann/.test(m.parsed.text ?? '')),
        20_000,
      );
      expect(assigned.parsed.subject).toMatch(new RegExp(`\\[#${waiting.id}\\]`));
      const [event] = await sql<{ actor: string; data: Record<string, unknown> }>(
        d.t,
        `SELECT actor, data FROM request_events WHERE request_id = $1 AND type = 'assigned'`,
        [waiting.id],
      );
      expect(event).toEqual({
        actor: 'system',
        data: { operatorId: d.ops.Ann.id, operatorName: 'Ann', auto: true, mode: 'round_robin' },
      });
    });

    it("lets operators announce availability (admins anyone's) and shows available, capacity and load", async () => {
      await d.t
        .http()
        .put('/operators/me/availability')
        .set(auth(d.ops.Ben.token))
        .send({ available: 'yes' })
        .expect(400);
      await d.t.http().put('/operators/me/availability').set(auth(d.ops.Ben.token)).send({}).expect(400);
      await d.t
        .http()
        .put(`/operators/${d.ops.Cat.id}/availability`)
        .set(auth(d.ops.Ben.token))
        .send({ available: true })
        .expect(403);
      await d.t.http().put('/operators/999999/availability').set(auth(d.admin)).send({ available: true }).expect(404);
      const ben = await available('Ben', true).expect(200);
      expect(ben.body).toMatchObject({ id: d.ops.Ben.id, available: true, capacity: null, load: 0 });
      const cat = await d.t
        .http()
        .put(`/operators/${d.ops.Cat.id}/availability`)
        .set(auth(d.admin))
        .send({ available: true })
        .expect(200);
      expect(cat.body).toMatchObject({ available: true });
      for (const capacity of [-1, 1.5, 'x', 2_000_000]) {
        await d.t.http().patch(`/operators/${d.ops.Cat.id}`).set(auth(d.admin)).send({ capacity }).expect(400);
      }
      await d.t.http().patch(`/operators/${d.ops.Cat.id}`).set(auth(d.ops.Ben.token)).send({ capacity: 5 }).expect(403);
      const list = await d.t.http().get('/operators').set(auth(d.ops.Ben.token)).expect(200);
      const ann = list.body.items.find((o: { id: number }) => o.id === d.ops.Ann.id);
      expect(ann).toMatchObject({ available: true, capacity: null, load: 1 });
    });

    it('gives new requests in turn (round robin), then to the least loaded within capacities', async () => {
      const batch: Array<{ id: number; from: string }> = [];
      for (let i = 0; i < 6; i++) batch.push(await mail());
      await waitFor(async () => {
        const rows = await assignments(d.t);
        return batch.every((b) => rows.find((r) => r.id === b.id)?.status === 'in_progress');
      }, 30_000);
      const rows = (await assignments(d.t)).filter((r) => batch.some((b) => b.id === r.id));
      // After Ann (the pointer): Ben, Cat, Ann, Ben, Cat, Ann in the order they arrived.
      const byId = [d.ops.Ben.id, d.ops.Cat.id, d.ops.Ann.id];
      expect(rows.map((r) => r.operator_id)).toEqual([...byId, ...byId]);
      expect(rows.every((r) => r.n === 1)).toBe(true);

      // Least loaded: Ann holds 3, Ben 2, Cat 2; Cat may hold 3 at most.
      await d.t
        .http()
        .patch(`/groups/${d.groupId}`)
        .set(auth(d.admin))
        .send({ assignment: 'least_loaded' })
        .expect(200);
      const cat = await d.t
        .http()
        .patch(`/operators/${d.ops.Cat.id}`)
        .set(auth(d.admin))
        .send({ capacity: 3 })
        .expect(200);
      expect(cat.body).toMatchObject({ capacity: 3, load: 2 });
      const more = [await mail(), await mail(), await mail()];
      await waitFor(async () => {
        const now = await assignments(d.t);
        return more.every((b) => now.find((r) => r.id === b.id)?.status === 'in_progress');
      }, 30_000);
      const loads = await d.t.http().get('/operators').set(auth(d.admin)).expect(200);
      const load = (id: number) => loads.body.items.find((o: { id: number }) => o.id === id).load;
      // Ben, then Cat (tied on 2: Ben waited longer), Cat is then full; then Ann (tied with Ben on 3, waited longer).
      expect([load(d.ops.Ann.id), load(d.ops.Ben.id), load(d.ops.Cat.id)]).toEqual([4, 3, 3]);
    });

    it("hands an unavailable operator's requests back to the pool, assigned again to others without mailing the customer", async () => {
      await d.t
        .http()
        .patch(`/groups/${d.groupId}`)
        .set(auth(d.admin))
        .send({ reassignWhenUnavailable: true })
        .expect(200);
      await d.t.http().patch(`/operators/${d.ops.Cat.id}`).set(auth(d.admin)).send({ capacity: null }).expect(200);
      const held = await sql<{ id: number }>(
        d.t,
        `SELECT id FROM requests WHERE operator_id = $1 AND status = 'in_progress' ORDER BY id`,
        [d.ops.Ann.id],
      );
      expect(held.length).toBeGreaterThan(0);
      const settled = async () =>
        (await sql<{ n: number }>(d.t, `SELECT count(*)::int AS n FROM outbox WHERE status = 'pending'`))[0].n === 0;
      await waitFor(settled, 20_000);
      const mailsBefore = sink.mails.length;
      const res = await available('Ann', false).expect(200);
      expect(res.body).toMatchObject({ available: false });
      await waitFor(async () => {
        const rows = await assignments(d.t);
        return held.every((h) => {
          const r = rows.find((x) => x.id === h.id)!;
          return r.status === 'in_progress' && r.operator_id !== d.ops.Ann.id;
        });
      }, 30_000);
      for (const h of held) {
        const events = await sql<{ type: string; actor: string; data: Record<string, unknown> }>(
          d.t,
          `SELECT type, actor, data FROM request_events WHERE request_id = $1 AND type IN ('assigned', 'unassigned') ORDER BY id`,
          [h.id],
        );
        expect(events.map((e) => [e.type, e.actor])).toEqual([
          ['assigned', 'system'],
          ['unassigned', 'system'],
          ['assigned', 'system'],
        ]);
        expect(events[1].data).toEqual({ fromOperatorId: d.ops.Ann.id, reason: 'unavailable' });
        expect([d.ops.Ben.id, d.ops.Cat.id]).toContain(events[2].data.operatorId);
      }
      // As a reassignment: no mail without REASSIGN_NOTIFY.
      await waitFor(settled, 20_000);
      expect(sink.mails.length).toBe(mailsBefore);
      const ann = await d.t.http().get('/operators').set(auth(d.admin)).expect(200);
      expect(ann.body.items.find((o: { id: number }) => o.id === d.ops.Ann.id)).toMatchObject({
        load: 0,
        available: false,
      });
    });
  });

  describe('two instances assigning at once', () => {
    let d: Desk;
    let other: INestApplication;
    const instances = () => [d.t.app, other];

    beforeAll(async () => {
      d = await desk({ OPERATOR_MAX_OPEN: '0' }, kind, ['Ann', 'Ben', 'Cat']);
      other = await createApp(d.t.config, d.t.db.url, ['error']);
      await other.init();
      await other.getHttpAdapter().getInstance().ready();
      await d.t.http().patch(`/groups/${d.groupId}`).set(auth(d.admin)).send({ assignment: 'round_robin' }).expect(200);
      for (const name of Object.keys(d.ops)) {
        await d.t
          .http()
          .put('/operators/me/availability')
          .set(auth(d.ops[name].token))
          .send({ available: true })
          .expect(200);
      }
    }, 120_000);

    afterAll(async () => {
      await other?.close();
      await d?.t.close();
    });

    /** `count` mails at once, spread over both instances; their request ids. */
    async function flood(prefix: string, count: number): Promise<number[]> {
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          request(instances()[i % 2].getHttpServer())
            .post('/inbound/mail')
            .set('Authorization', `Bearer ${TEST_INBOUND_TOKEN}`)
            .set('Content-Type', 'message/rfc822')
            .send(
              rawMail({ from: `${prefix}${i}@example.com`, subject: `${prefix} ${i}`, messageId: `${prefix}-${i}@x` }),
            ),
        ),
      );
      return results.map((r) => {
        expect(r.status).toBe(200);
        return r.body.results[0].requestId as number;
      });
    }

    it('assigns each request once and round robin stays fair', async () => {
      const ids = await flood('rr', 30);
      await waitFor(async () => {
        const rows = await assignments(d.t);
        return ids.every((id) => rows.find((r) => r.id === id)?.status === 'in_progress');
      }, 60_000);
      const rows = (await assignments(d.t)).filter((r) => ids.includes(r.id));
      expect(rows.map((r) => r.n)).toEqual(ids.map(() => 1));
      const counts = Object.values(d.ops).map((o) => rows.filter((r) => r.operator_id === o.id).length);
      expect(counts.reduce((a, b) => a + b)).toBe(30);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    });

    it('never puts an operator over capacity, with both assigners running at once', async () => {
      // Everyone holds 10: capacities of 12 leave room for 6 of the 20 new requests.
      for (const o of Object.values(d.ops)) {
        await d.t.http().patch(`/operators/${o.id}`).set(auth(d.admin)).send({ capacity: 12 }).expect(200);
      }
      const ids = await flood('cap', 20);
      const assigners = instances().map((app) => app.get(AutoAssignmentService));
      for (let i = 0; i < 3; i++) await Promise.all(assigners.map((a) => a.runOnce()));
      await waitFor(async () => {
        const rows = await assignments(d.t);
        return rows.filter((r) => ids.includes(r.id) && r.status === 'in_progress').length === 6;
      }, 60_000);
      await sleep(2500); // two sweeps of each instance: nothing more may be given
      const rows = await assignments(d.t);
      for (const o of Object.values(d.ops)) {
        expect(rows.filter((r) => r.operator_id === o.id && r.status === 'in_progress')).toHaveLength(12);
      }
      expect(rows.filter((r) => ids.includes(r.id) && r.status === 'new')).toHaveLength(14);
      expect(rows.every((r) => r.n <= 1)).toBe(true);

      // Room again: the sweep gives what waited.
      await sql(d.t, `UPDATE requests SET status = 'closed', closed_at = now() WHERE id = ANY ($1::integer[])`, [
        rows
          .filter((r) => r.operator_id === d.ops.Ann.id)
          .slice(0, 2)
          .map((r) => r.id),
      ]);
      await waitFor(async () => (await assignments(d.t)).filter((r) => r.status === 'new').length === 12, 30_000);
      const after = await assignments(d.t);
      expect(after.filter((r) => r.operator_id === d.ops.Ann.id && r.status === 'in_progress')).toHaveLength(12);
    });
  });
});
