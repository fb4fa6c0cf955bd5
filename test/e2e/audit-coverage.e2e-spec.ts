import { Reflector } from '@nestjs/core';
import { AUDITED, type AuditOptions, NOT_AUDITED } from '../../src/common/audit.decorators';
import { hasSnapshot } from '../../src/audit/audit.repository';
import { auditRouteOf } from '../../src/audit/audit-routes';
import { MUTATING_METHODS } from '../../src/audit/audit.interceptor';
import { createTestApp, TestApp } from '../setup/app';
import { nestRoutes, routeKey } from '../setup/routes';

/**
 * The mutating operator routes left out of the audit log, each for a reason (@NotAudited). A new
 * exemption must be added here on purpose; keep the list short.
 */
const EXEMPT = ['PUT /requests/:id/presence', 'DELETE /requests/:id/presence'];

/**
 * The audit log covers every route that changes something (issue 21 item 6): each POST, PUT,
 * PATCH and DELETE an operator can call is either audited -- as an entity the audit knows how to
 * snapshot (audit-routes.ts AUDIT_ENTITIES, or @Audited({ entity })) -- or exempted with a reason.
 * Routes added by later changes are walked too: one under an unknown path fails here until it is
 * given an entity or an exemption.
 */
describe('audit coverage of the routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('audits every mutating operator route, or exempts it with a reason', () => {
    const reflector = new Reflector();
    const mutating = nestRoutes(t).filter((r) => MUTATING_METHODS.has(r.method) && !r.isPublic);
    expect(mutating.length).toBeGreaterThan(20);
    const exempt: string[] = [];
    const unknown: string[] = [];
    for (const r of mutating) {
      const targets = [r.handler, r.controller];
      const reason = reflector.getAllAndOverride<string | undefined>(NOT_AUDITED, targets);
      if (reason !== undefined) {
        expect(reason.length).toBeGreaterThan(10);
        exempt.push(routeKey(r));
        continue;
      }
      const options = reflector.getAllAndOverride<AuditOptions | undefined>(AUDITED, targets);
      const spec = auditRouteOf(r.method, r.path, options);
      if (!spec.known || !hasSnapshot(spec.entity)) unknown.push(`${routeKey(r)} (entity guessed: ${spec.entity})`);
      expect(spec.action).toMatch(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/);
    }
    expect(unknown).toEqual([]);
    expect(exempt.sort()).toEqual([...EXEMPT].sort());
  });

  it('gives every audited route its own action', () => {
    const reflector = new Reflector();
    const actions = new Map<string, string>();
    for (const r of nestRoutes(t).filter((x) => MUTATING_METHODS.has(x.method) && !x.isPublic)) {
      const targets = [r.handler, r.controller];
      if (reflector.getAllAndOverride<string | undefined>(NOT_AUDITED, targets)) continue;
      const spec = auditRouteOf(r.method, r.path, reflector.getAllAndOverride(AUDITED, targets));
      expect([spec.action, actions.get(spec.action)]).toEqual([spec.action, undefined]);
      actions.set(spec.action, routeKey(r));
    }
  });
});
