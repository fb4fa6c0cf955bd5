import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthOperator } from '../common/auth.decorators';
import { renderReply, type ReplyContext, SAVED_REPLY_VARIABLES, unknownVariables } from './reply-variables';
import { type SavedReply, SavedRepliesRepository, type SavedRepliesStore } from './saved-replies.repository';

export type { SavedReply } from './saved-replies.repository';

/** Who asks, as far as saved replies go: their id, role and groups. */
export type ReplyActor = Pick<AuthOperator, 'id' | 'role' | 'groupIds'>;

/**
 * Whether the actor sees the reply: admins every reply; operators the global ones and those of
 * their groups (an operator in no group: the global ones only). A reply they may not see answers
 * as a missing one (404).
 */
export function canSeeReply(actor: Pick<ReplyActor, 'role' | 'groupIds'>, groupId: number | null): boolean {
  return actor.role === 'admin' || groupId === null || actor.groupIds.includes(groupId);
}

/**
 * Whether the actor may create, change and delete replies of scope `groupId` (null: global):
 * admins any; operators those of their own groups, not the global ones.
 */
export function canManageReply(actor: Pick<ReplyActor, 'role' | 'groupIds'>, groupId: number | null): boolean {
  return actor.role === 'admin' || (groupId !== null && actor.groupIds.includes(groupId));
}

/**
 * Saved replies (canned responses, global or per group, with `{{variables}}`) and the operators'
 * signatures their mail ends with. Names are unique regardless of case within a scope (409).
 */
@Injectable()
export class SavedRepliesService {
  constructor(@Inject(SavedRepliesRepository) private readonly replies: SavedRepliesStore) {}

  /** The replies the actor sees, by name; only group `groupId`'s when given. */
  list(actor: ReplyActor, groupId: number | null = null): Promise<SavedReply[]> {
    return this.replies.list(actor.role === 'admin' ? null : actor.groupIds, groupId);
  }

  /** A reply the actor sees; 404 otherwise. With `manager`, read in the caller's transaction. */
  async get(actor: ReplyActor, id: number, manager?: EntityManager): Promise<SavedReply> {
    const reply = await this.replies.findById(id, manager);
    if (!reply || !canSeeReply(actor, reply.groupId)) throw new NotFoundException(`saved reply ${id} does not exist`);
    return reply;
  }

  /**
   * A new reply; 400 for an unknown variable or group, 403 for a scope the actor may not manage
   * (canManageReply), 409 when its scope has a reply of this name in any case.
   */
  async create(actor: ReplyActor, input: { name: string; text: string; groupId?: number | null }): Promise<SavedReply> {
    const groupId = input.groupId ?? null;
    checkVariables(input.text);
    if (!canManageReply(actor, groupId)) {
      throw new ForbiddenException(
        groupId === null ? 'only admins create global saved replies' : `you are not in group ${groupId}`,
      );
    }
    if (groupId !== null && !(await this.replies.groupExists(groupId))) {
      throw new BadRequestException(`group ${groupId} does not exist`);
    }
    const created = await this.replies.insert({ name: input.name, text: input.text, groupId, createdBy: actor.id });
    if (!created) throw new ConflictException(`a saved reply named "${input.name}" exists in this scope`);
    return created;
  }

  /** Changes a reply's name or text; 404 when the actor does not see it, 403 when they may not manage it, 409 on a taken name. */
  async update(actor: ReplyActor, id: number, changes: { name?: string; text?: string }): Promise<SavedReply> {
    const reply = await this.manageable(actor, id);
    if (changes.text !== undefined) checkVariables(changes.text);
    if (changes.name === undefined && changes.text === undefined) return reply;
    const updated = await this.replies.update(id, changes);
    if (updated) return updated;
    if (!(await this.replies.findById(id))) throw new NotFoundException(`saved reply ${id} does not exist`);
    throw new ConflictException(`a saved reply named "${changes.name}" exists in this scope`);
  }

  /** Deletes a reply; 404 when the actor does not see it, 403 when they may not manage it. */
  async remove(actor: ReplyActor, id: number): Promise<void> {
    await this.manageable(actor, id);
    if (!(await this.replies.remove(id))) throw new NotFoundException(`saved reply ${id} does not exist`);
  }

  /**
   * The text of reply `id` with its variables filled in for a message to a request's customer;
   * 404 when the actor does not see the reply. `manager`: the caller's transaction (the embedded
   * database has one connection: a read beside an open transaction would wait for it forever).
   */
  async render(actor: ReplyActor, id: number, context: ReplyContext, manager?: EntityManager): Promise<string> {
    return renderReply((await this.get(actor, id, manager)).text, context);
  }

  /** The operator's signature, trimmed, or null when they have none; `manager` as for render. */
  async signatureOf(operatorId: number, manager?: EntityManager): Promise<string | null> {
    return (await this.replies.signatureOf(operatorId, manager))?.trim() || null;
  }

  private async manageable(actor: ReplyActor, id: number): Promise<SavedReply> {
    const reply = await this.get(actor, id);
    if (!canManageReply(actor, reply.groupId)) {
      throw new ForbiddenException(
        reply.groupId === null ? 'only admins change global saved replies' : `you are not in group ${reply.groupId}`,
      );
    }
    return reply;
  }
}

/** 400 when the text uses a placeholder that is not a variable (a typo would otherwise reach customers). */
function checkVariables(text: string): void {
  const unknown = unknownVariables(text);
  if (unknown.length) {
    throw new BadRequestException(
      `unknown variable ${unknown.map((n) => `{{${n}}}`).join(', ')} (known: ${SAVED_REPLY_VARIABLES.map((n) => `{{${n}}}`).join(', ')})`,
    );
  }
}
