import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';

/** How many validated query strings are remembered, per DTO class. */
export const REMEMBERED_QUERIES = 500;
/** Longer query strings are validated every time (and not kept in memory). */
const MAX_KEY_CHARS = 1024;

/**
 * Nest's ValidationPipe (class-transformer then class-validator), remembering the DTOs it made from
 * query strings: the queue is read with a few query strings over and over (a view each operator
 * keeps open), and validating one took 6-8% of the CPU of a `GET /requests` (docs/performance.md,
 * "Query DTOs validated once per query string").
 *
 * Only valid queries are remembered (an invalid one is validated again, and answers the same 400),
 * keyed by the parsed query as JSON, per DTO class; the answer is a copy (its arrays too), so a
 * handler that changes its DTO changes nothing remembered. This holds because the query DTOs'
 * transforms and rules are pure functions of the query: none reads the clock or the database.
 * Bodies and parameters are validated every time.
 */
export class QueryMemoValidationPipe extends ValidationPipe {
  private readonly remembered = new Map<unknown, Map<string, object>>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const type = metadata.metatype;
    if (metadata.type !== 'query' || !type || !value || typeof value !== 'object' || !this.toValidate(metadata)) {
      return super.transform(value, metadata);
    }
    const key = JSON.stringify(value);
    if (key.length > MAX_KEY_CHARS) return super.transform(value, metadata);
    let byKey = this.remembered.get(type);
    if (!byKey) this.remembered.set(type, (byKey = new Map()));
    const known = byKey.get(key);
    if (known) {
      // Least recently used first: a hit moves to the end.
      byKey.delete(key);
      byKey.set(key, known);
      return copy(known);
    }
    const made = (await super.transform(value, metadata)) as object;
    byKey.set(key, copy(made));
    if (byKey.size > REMEMBERED_QUERIES) byKey.delete(byKey.keys().next().value!);
    return made;
  }
}

/** A copy of a DTO: same class, own arrays. */
function copy<T extends object>(dto: T): T {
  const out = Object.assign(Object.create(Object.getPrototypeOf(dto) as object) as T, dto);
  for (const [k, v] of Object.entries(out)) if (Array.isArray(v)) (out as Record<string, unknown>)[k] = [...v];
  return out;
}
