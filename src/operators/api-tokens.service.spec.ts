import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { MemoryApiTokens } from '../../test/fakes/memory-api-tokens';
import type { AuthOperator } from '../common/auth.decorators';
import {
  apiTokenMatches,
  apiTokenPrefix,
  ApiTokensService,
  hashApiToken,
  isApiToken,
  MAX_API_TOKENS,
  newApiToken,
} from './api-tokens.service';

const actor = (id: number, role: AuthOperator['role'] = 'operator'): AuthOperator => ({
  id,
  email: `op${id}@desk.test`,
  name: `Op ${id}`,
  role,
  groupIds: [],
});
const ADMIN = actor(1, 'admin');
const ANN = actor(2);
const BOB = actor(3);

describe('API tokens: format and hashing', () => {
  it('draws mdt_<8>_<43> tokens with 256 bits of secret, hashed with SHA-256 and compared in constant time', () => {
    const a = newApiToken();
    const b = newApiToken();
    expect(a.token).toMatch(/^mdt_[A-Za-z0-9_-]{8}_[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(apiTokenPrefix(a.token)).toBe(a.prefix);
    expect(a.hash).toBe(hashApiToken(a.token));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(apiTokenMatches(a.token, a.hash)).toBe(true);
    expect(apiTokenMatches(b.token, a.hash)).toBe(false);
    expect(apiTokenMatches(a.token, 'not-hex')).toBe(false);
    expect([isApiToken(a.token), isApiToken('eyJhbGciOiJIUzI1NiJ9.e30.x')]).toEqual([true, false]);
    for (const bad of [
      'mdt_',
      `${a.token}x`,
      a.token.slice(0, -1),
      `mdt_${a.prefix}`,
      'mdt_!!!!!!!!_' + 'a'.repeat(43),
    ]) {
      expect(apiTokenPrefix(bad)).toBeNull();
    }
  });
});

describe('ApiTokensService rules', () => {
  let store: MemoryApiTokens;
  let service: ApiTokensService;

  beforeEach(() => {
    store = new MemoryApiTokens();
    for (const a of [ADMIN, ANN, BOB]) {
      store.operators.set(a.id, { id: a.id, role: a.role, active: true, tokenVersion: 0, groupIds: [] });
    }
    service = new ApiTokensService(store);
  });

  it('makes a write token by default that acts as its operator; stores only its hash', async () => {
    const made = await service.create(ANN, { name: 'script' }, store.now);
    expect(made).toMatchObject({ operatorId: ANN.id, name: 'script', scope: 'write', expiresAt: null });
    // The secret: the token's last 43 characters (32 bytes in base64url, which may itself hold '_').
    expect(JSON.stringify([...store.rows.values()])).not.toContain(made.token.slice(-43));
    const who = await service.authenticate(made.token, 'POST', '203.0.113.7');
    expect(who).toMatchObject({ id: ANN.id, role: 'operator', apiToken: { id: made.id, scope: 'write' } });
  });

  it('refuses malformed, unknown and wrong tokens (a valid prefix with a wrong secret) with 401', async () => {
    const made = await service.create(ANN, { name: 'script' }, store.now);
    const wrongSecret = `mdt_${made.prefix}_${'A'.repeat(43)}`;
    for (const bad of ['mdt_nope', wrongSecret, newApiToken().token]) {
      await expect(service.authenticate(bad, 'GET', '::1')).rejects.toBeInstanceOf(UnauthorizedException);
    }
  });

  it('lets a read token GET and HEAD only (403 otherwise)', async () => {
    const made = await service.create(ANN, { name: 'reader', scope: 'read' }, store.now);
    await expect(service.authenticate(made.token, 'GET', '::1')).resolves.toMatchObject({ id: ANN.id });
    await expect(service.authenticate(made.token, 'HEAD', '::1')).resolves.toMatchObject({ id: ANN.id });
    for (const method of ['POST', 'PATCH', 'PUT', 'DELETE']) {
      await expect(service.authenticate(made.token, method, '::1')).rejects.toBeInstanceOf(ForbiddenException);
    }
  });

  it('ends a token when revoked, expired, or its operator deactivated or re-keyed (password change)', async () => {
    const revoked = await service.create(ANN, { name: 'a' }, store.now);
    await service.revoke(ANN, revoked.id);
    await expect(service.authenticate(revoked.token, 'GET', '::1')).rejects.toBeInstanceOf(UnauthorizedException);

    const soon = new Date(store.now.getTime() + 120_000).toISOString();
    const expiring = await service.create(ANN, { name: 'b', expiresAt: soon }, store.now);
    await expect(service.authenticate(expiring.token, 'GET', '::1')).resolves.toMatchObject({ id: ANN.id });
    store.now = new Date(store.now.getTime() + 121_000);
    await expect(service.authenticate(expiring.token, 'GET', '::1')).rejects.toBeInstanceOf(UnauthorizedException);

    const bobs = await service.create(BOB, { name: 'c' }, store.now);
    store.operators.get(BOB.id)!.tokenVersion++;
    await expect(service.authenticate(bobs.token, 'GET', '::1')).rejects.toBeInstanceOf(UnauthorizedException);
  });

  it("applies the operator's role now, not at creation", async () => {
    const made = await service.create(ANN, { name: 'x' }, store.now);
    store.operators.get(ANN.id)!.role = 'admin';
    await expect(service.authenticate(made.token, 'GET', '::1')).resolves.toMatchObject({ role: 'admin' });
  });

  it('records the last use at most once a minute', async () => {
    const made = await service.create(ANN, { name: 'x' }, store.now);
    await service.authenticate(made.token, 'GET', '203.0.113.1');
    await service.authenticate(made.token, 'GET', '203.0.113.2');
    expect(store.touches).toBe(1);
    expect((await service.list(ANN))[0]).toMatchObject({ lastUsedAt: store.now, lastUsedIp: '203.0.113.1' });
    store.now = new Date(store.now.getTime() + 61_000);
    await service.authenticate(made.token, 'GET', '203.0.113.2');
    expect(store.touches).toBe(2);
    expect((await service.list(ANN))[0].lastUsedIp).toBe('203.0.113.2');
  });

  it('checks expiresAt: at least a minute and at most two years ahead; null: never', async () => {
    const at = (ms: number) => new Date(store.now.getTime() + ms).toISOString();
    for (const expiresAt of [at(-1000), at(30_000), at(731 * 86_400_000)]) {
      await expect(service.create(ANN, { name: 'x', expiresAt }, store.now)).rejects.toBeInstanceOf(
        BadRequestException,
      );
    }
    await expect(service.create(ANN, { name: 'x', expiresAt: at(729 * 86_400_000) }, store.now)).resolves.toBeTruthy();
    await expect(service.create(ANN, { name: 'x', expiresAt: null }, store.now)).resolves.toMatchObject({
      expiresAt: null,
    });
  });

  it('holds at most MAX_API_TOKENS live tokens per operator (revoking one makes room)', async () => {
    const made = [];
    for (let i = 0; i < MAX_API_TOKENS; i++) made.push(await service.create(ANN, { name: `t${i}` }, store.now));
    await expect(service.create(ANN, { name: 'one more' }, store.now)).rejects.toBeInstanceOf(ConflictException);
    await expect(service.create(BOB, { name: 'bob' }, store.now)).resolves.toBeTruthy();
    await service.revoke(ANN, made[0].id);
    await expect(service.create(ANN, { name: 'one more' }, store.now)).resolves.toBeTruthy();
  });

  it("lets owners list and revoke their tokens, admins anyone's; 404 for another's, 403 to list another's", async () => {
    const anns = await service.create(ANN, { name: 'ann' }, store.now);
    await expect(service.revoke(BOB, anns.id)).rejects.toBeInstanceOf(NotFoundException);
    await expect(service.list(BOB, ANN.id)).rejects.toBeInstanceOf(ForbiddenException);
    expect((await service.list(ADMIN, ANN.id)).map((t) => t.id)).toEqual([anns.id]);
    expect(await service.list(BOB)).toEqual([]);
    await service.revoke(ADMIN, anns.id);
    await expect(service.revoke(ANN, anns.id)).rejects.toBeInstanceOf(NotFoundException);
    expect(await service.list(ANN)).toEqual([]);
  });

  it('refuses to make, list or revoke tokens when called with a token (a login is needed)', async () => {
    const made = await service.create(ANN, { name: 'x' }, store.now);
    const viaToken = await service.authenticate(made.token, 'POST', '::1');
    await expect(service.create(viaToken, { name: 'y' }, store.now)).rejects.toBeInstanceOf(ForbiddenException);
    await expect(service.list(viaToken)).rejects.toBeInstanceOf(ForbiddenException);
    await expect(service.revoke(viaToken, made.id)).rejects.toBeInstanceOf(ForbiddenException);
  });
});
