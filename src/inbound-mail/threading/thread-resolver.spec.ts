import type { EntityManager } from 'typeorm';
import type { MessagesService } from '../../messages/messages.service';
import type { RequestsService } from '../../requests/requests.service';
import { MAX_REFERENCES, MAX_SUBJECT_TOKENS } from '../parser/limits';
import type { ParsedMail } from '../parser/parsed-mail';
import { resolveThread, subjectTokens } from './thread-resolver';

/** resolveThread over stub services that know no request, recording what it looks up. */
async function lookups(mail: Partial<ParsedMail>): Promise<{ requestIds: number[]; messageIds: string[] }> {
  const requestIds: number[] = [];
  const messageIds: string[] = [];
  const requests = {
    findForParticipant: async (_m: EntityManager, id: number) => {
      requestIds.push(id);
      return null;
    },
  } as unknown as RequestsService;
  const messages = {
    requestIdsForMessageIds: async (_m: EntityManager, ids: string[]) => {
      messageIds.push(...ids);
      return [];
    },
  } as unknown as MessagesService;
  const full = { subject: '', inReplyTo: null, references: [], ...mail } as ParsedMail;
  await expect(resolveThread({} as EntityManager, full, 'c@example.com', requests, messages)).resolves.toEqual({
    kind: 'sender',
    previousRequestId: null,
  });
  return { requestIds, messageIds };
}

describe('thread resolution caps', () => {
  it(`takes the first ${MAX_SUBJECT_TOKENS} distinct [#n] tokens of a subject`, () => {
    const subject = Array.from({ length: MAX_SUBJECT_TOKENS + 1 }, (_, i) => `[#${i + 1}]`).join('');
    expect(subjectTokens(`Re: [#1] ${subject}`)).toEqual(Array.from({ length: MAX_SUBJECT_TOKENS }, (_, i) => i + 1));
  });

  it(`looks up ${MAX_SUBJECT_TOKENS} requests for a subject of 100,000 tokens`, async () => {
    const subject = Array.from({ length: 100_000 }, (_, i) => `[#${i + 1}]`).join('');
    const { requestIds } = await lookups({ subject });
    expect(requestIds).toEqual(Array.from({ length: MAX_SUBJECT_TOKENS }, (_, i) => i + 1));
  });

  it(`looks up In-Reply-To and the last ${MAX_REFERENCES} References ids, newest first`, async () => {
    const references = Array.from({ length: MAX_REFERENCES + 1 }, (_, i) => `r${i}@example.com`);
    const { messageIds } = await lookups({ inReplyTo: 'parent@example.com', references });
    expect(messageIds).toEqual(['parent@example.com', ...references.slice(1).reverse()]);
  });
});
