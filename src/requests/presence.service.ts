import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { type Presence, PresenceRepository, type PresenceState, type PresenceStore } from './presence.repository';
import type { RequestActor } from './request-scope';
import { RequestsService } from './requests.service';

/** Expired rows deleted by one announcement at most: the cleanup stays cheap whatever piled up. */
export const PRESENCE_PURGE_BATCH = 100;

/**
 * Who is on a request right now (collision detection, docs/behaviour.md): operators announce that
 * they are viewing or replying to a request, which lasts PRESENCE_TTL_SECONDS unless renewed, and
 * see who else is there. Stored in PostgreSQL so every instance sees every announcement. Only
 * operators who see the request (its group) may announce or read; another group's request is a 404.
 */
@Injectable()
export class PresenceService {
  constructor(
    @Inject(PresenceRepository) private readonly store: PresenceStore,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'presence'>,
    @Inject(RequestsService) private readonly requests: Pick<RequestsService, 'findVisible'>,
  ) {}

  /**
   * The actor is (still) in `state` on the request: announced or renewed for the TTL, a few
   * expired rows of any request cleaned up on the way. The request's live presence after it.
   */
  async announce(requestId: number, actor: RequestActor & { id: number }, state: PresenceState): Promise<Presence[]> {
    await this.mustSee(requestId, actor);
    await this.store.upsert(requestId, actor.id, state, this.config.presence.ttlSeconds);
    await this.store.purgeExpired(PRESENCE_PURGE_BATCH);
    return this.store.listLive(requestId);
  }

  /** The actor left the request (closed it, went elsewhere): no longer shown. */
  async leave(requestId: number, actor: RequestActor & { id: number }): Promise<void> {
    await this.mustSee(requestId, actor);
    await this.store.remove(requestId, actor.id);
  }

  /** The request's live presence (every operator on it, the caller included), the earliest first. */
  async list(requestId: number, actor: RequestActor): Promise<Presence[]> {
    await this.mustSee(requestId, actor);
    return this.store.listLive(requestId);
  }

  /** The live presence of a request the caller already knows the actor may see (GET /requests/:id). */
  listSeen(requestId: number): Promise<Presence[]> {
    return this.store.listLive(requestId);
  }

  private async mustSee(requestId: number, actor: RequestActor): Promise<void> {
    if (!(await this.requests.findVisible(requestId, actor)))
      throw new NotFoundException(`request ${requestId} does not exist`);
  }
}
