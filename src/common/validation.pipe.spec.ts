import { BadRequestException, type ArgumentMetadata } from '@nestjs/common';
import { ListRequestsQuery } from '../requests/dto/list-requests.query';
import { QueryMemoValidationPipe, REMEMBERED_QUERIES } from './validation.pipe';

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, transform: true };
const QUERY: ArgumentMetadata = { type: 'query', metatype: ListRequestsQuery, data: undefined };

describe('QueryMemoValidationPipe', () => {
  it('answers a remembered query string with an equal DTO of the class, a copy each time', async () => {
    const pipe = new QueryMemoValidationPipe(OPTIONS);
    const query = { status: 'new,in_progress', operatorId: '7', page: '2' };
    const first = (await pipe.transform({ ...query }, QUERY)) as ListRequestsQuery;
    expect(first).toBeInstanceOf(ListRequestsQuery);
    expect(first).toEqual(
      Object.assign(new ListRequestsQuery(), { status: ['new', 'in_progress'], operatorId: 7, page: 2 }),
    );
    // A handler changing its DTO changes nothing remembered.
    first.status!.push('closed');
    first.operatorId = 99;
    const second = (await pipe.transform({ ...query }, QUERY)) as ListRequestsQuery;
    const third = (await pipe.transform({ ...query }, QUERY)) as ListRequestsQuery;
    expect(second).toBeInstanceOf(ListRequestsQuery);
    expect(second).toEqual(
      Object.assign(new ListRequestsQuery(), { status: ['new', 'in_progress'], operatorId: 7, page: 2 }),
    );
    expect(third).not.toBe(second);
    expect(third.status).not.toBe(second.status);
  });

  it('rejects an invalid query every time, with the same 400', async () => {
    const pipe = new QueryMemoValidationPipe(OPTIONS);
    for (const bad of [{ status: 'lost' }, { status: 'lost' }, { sort: 'password' }, { nope: '1' }, { nope: '1' }]) {
      await expect(pipe.transform(bad, QUERY)).rejects.toBeInstanceOf(BadRequestException);
    }
    // A valid query after invalid ones is still answered.
    await expect(pipe.transform({ status: 'new' }, QUERY)).resolves.toEqual(
      Object.assign(new ListRequestsQuery(), { status: ['new'] }),
    );
  });

  it(`keeps at most ${REMEMBERED_QUERIES} query strings per class, and validates bodies every time`, async () => {
    const pipe = new QueryMemoValidationPipe(OPTIONS);
    for (let i = 1; i <= REMEMBERED_QUERIES + 50; i++) await pipe.transform({ operatorId: String(i) }, QUERY);
    const remembered = (pipe as unknown as { remembered: Map<unknown, Map<string, object>> }).remembered;
    expect(remembered.get(ListRequestsQuery)!.size).toBe(REMEMBERED_QUERIES);
    // The oldest went first.
    expect(remembered.get(ListRequestsQuery)!.has(JSON.stringify({ operatorId: '1' }))).toBe(false);
    await pipe.transform({ status: 'new' }, { type: 'body', metatype: ListRequestsQuery, data: undefined });
    expect(remembered.size).toBe(1);
  });
});
