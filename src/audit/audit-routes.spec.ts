import { auditRouteOf } from './audit-routes';

describe('auditRouteOf', () => {
  it.each([
    ['PATCH', '/requests/:id', 'request', 'request.update', 'id'],
    ['POST', '/requests/:id/assign', 'request', 'request.assign', 'id'],
    ['PUT', '/requests/:id/tags', 'request', 'request.tags.update', 'id'],
    ['POST', '/requests/:id/side-threads/:sideThreadId/messages', 'request', 'request.side_threads.messages', 'id'],
    ['POST', '/operators', 'operator', 'operator.create', undefined],
    ['DELETE', '/groups/:id', 'group', 'group.delete', 'id'],
    ['POST', '/auth/tokens', 'api_token', 'api_token.create', undefined],
    ['DELETE', '/auth/tokens/:id', 'api_token', 'api_token.delete', 'id'],
    ['POST', '/inbound/quarantine/:id/replay', 'inbound_mail', 'inbound_mail.replay', 'id'],
    ['PATCH', '/saved-replies/:id', 'saved_reply', 'saved_reply.update', 'id'],
  ])('%s %s is %s, %s, id from %s', (method, path, entity, action, idParam) => {
    const r = auditRouteOf(method, path);
    expect(r).toMatchObject({ route: `${method} ${path}`, entity, action, known: true, idIsActor: false });
    expect(r.idParam).toBe(idParam);
  });

  it('takes /me as the actor itself', () => {
    expect(auditRouteOf('PUT', '/operators/me/availability')).toMatchObject({
      entity: 'operator',
      action: 'operator.availability.update',
      idIsActor: true,
      idParam: undefined,
    });
  });

  it('guesses the entity of an unknown path and says so; options override', () => {
    expect(auditRouteOf('POST', '/widgets/:id/spin')).toMatchObject({
      entity: 'widgets',
      action: 'widgets.spin',
      known: false,
    });
    expect(
      auditRouteOf('POST', '/widgets/:widgetId/spin', { entity: 'widget', action: 'widget.spin', idParam: 'widgetId' }),
    ).toMatchObject({ entity: 'widget', action: 'widget.spin', idParam: 'widgetId', known: true });
  });

  it('snapshots and records no answer by default; an erasure asks for neither snapshot nor body, but the answer', () => {
    expect(auditRouteOf('PATCH', '/customers/:id')).toMatchObject({ snapshot: true, recordAnswer: false, presentOnly: [] });
    expect(
      auditRouteOf('DELETE', '/customers/:id', {
        action: 'customer.erase',
        snapshot: false,
        presentOnly: ['confirm'],
        recordAnswer: true,
      }),
    ).toMatchObject({
      entity: 'customer',
      action: 'customer.erase',
      idParam: 'id',
      snapshot: false,
      presentOnly: ['confirm'],
      recordAnswer: true,
      known: true,
    });
  });
});
