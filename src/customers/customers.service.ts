import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { normalizeLocale } from '../common/locale';
import type { Page } from '../common/pagination';
import { canSeeRequest, type RequestActor, requestScope } from '../requests/request-scope';
import {
  type CustomerChange,
  type CustomerRequest,
  CustomersRepository,
  type CustomersStore,
  type CustomerSummary,
} from './customers.repository';

/** `%`, `_` and `\` of user input made literal for LIKE/ILIKE (backslash is the default escape). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The people who write to support: search, one customer with their requests, and admin changes.
 * An operator in groups sees every customer, but only their groups' requests (request-scope.ts):
 * the requests listed and counted are those.
 */
@Injectable()
export class CustomersService {
  constructor(@Inject(CustomersRepository) private readonly customers: CustomersStore) {}

  /** Customers whose address or name contains `q` (case-insensitive, literal), by address. */
  async list(q: string | undefined, page: number, limit: number, actor: RequestActor): Promise<Page<CustomerSummary>> {
    const search = q ? escapeLike(q.trim()) : null;
    const [items, total] = await Promise.all([
      this.customers.list(search, (page - 1) * limit, limit),
      this.customers.count(search),
    ]);
    const scope = requestScope(actor);
    if (scope !== null) {
      const counts = await this.customers.requestCountsInGroups(
        items.map((c) => c.id),
        scope,
      );
      for (const c of items) c.requestCount = counts.get(c.id) ?? 0;
    }
    return { items, total, page, limit };
  }

  /** One customer and the requests the actor sees, newest first; 404 when unknown. */
  async get(id: number, actor: RequestActor): Promise<CustomerSummary & { requests: CustomerRequest[] }> {
    const customer = await this.customers.findById(id);
    if (!customer) throw new NotFoundException(`customer ${id} does not exist`);
    const requests = (await this.customers.requestsOf(id)).filter((r) => canSeeRequest(actor, r.groupId));
    return {
      ...customer,
      requestCount: requestScope(actor) === null ? customer.requestCount : requests.length,
      requests,
    };
  }

  /**
   * Changes name, blocked (a blocked customer gets no auto-reply and opens no request) and/or
   * locale (the language of their auto-replies; null: unknown); 404 when unknown, 400 for a
   * locale that is no language tag.
   */
  async update(
    id: number,
    change: CustomerChange,
    actor: RequestActor,
  ): Promise<CustomerSummary & { requests: CustomerRequest[] }> {
    // A blank name is no name.
    const name = change.name === undefined ? undefined : change.name?.trim() || null;
    let locale = change.locale;
    if (typeof locale === 'string') {
      locale = normalizeLocale(locale);
      if (locale === null) throw new BadRequestException('locale must be a language tag such as en, ru or pt-BR');
    }
    if (!(await this.customers.update(id, { name, blocked: change.blocked, locale }))) {
      throw new NotFoundException(`customer ${id} does not exist`);
    }
    return this.get(id, actor);
  }
}
