import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ReadReplicas } from '../replicas/read-replicas.service';

/** A customer as the API lists it. */
export interface CustomerSummary {
  id: number;
  email: string;
  name: string | null;
  blocked: boolean;
  /** The customer's language (BCP 47, canonical case), which picks the auto-reply templates; null: unknown. */
  locale: string | null;
  createdAt: Date;
  requestCount: number;
}

/** One of a customer's requests. */
export interface CustomerRequest {
  id: number;
  status: string;
  subject: string;
  createdAt: Date;
  groupId: number | null;
}

const SUMMARY = `SELECT c.id, c.email, c.name, c.blocked, c.locale, c.created_at,
                       (SELECT count(*)::int FROM requests r WHERE r.customer_id = c.id) AS request_count
                  FROM customers c`;
/** $1: the LIKE pattern's literal part (escaped). */
const MATCHING = `WHERE c.email ILIKE '%' || $1 || '%' OR c.name ILIKE '%' || $1 || '%'`;
/** Every customer, with the same parameters as MATCHING ($1 null). */
const ALL = `WHERE $1::text IS NULL`;

/** The statements of the customers table as the admin API reads it (written to customers.repository.sql by `npm run sql`). */
export const SQL = {
  search: `${SUMMARY} ${MATCHING} ORDER BY c.email, c.id OFFSET $2 LIMIT $3`,
  countMatching: `SELECT count(*)::int AS n FROM customers c ${MATCHING}`,
  list: `${SUMMARY} ${ALL} ORDER BY c.email, c.id OFFSET $2 LIMIT $3`,
  countAll: `SELECT count(*)::int AS n FROM customers c ${ALL}`,
  findById: `${SUMMARY} WHERE c.id = $1`,
  requestsOf: `SELECT id, status, subject, created_at, group_id FROM requests WHERE customer_id = $1 ORDER BY id DESC`,
  /** How many requests of the groups $2 each customer $1 has (the counts an operator in groups sees). */
  requestCountsInGroups: `SELECT customer_id, count(*)::int AS n FROM requests
       WHERE customer_id = ANY ($1::integer[]) AND group_id = ANY ($2::integer[]) GROUP BY customer_id`,
  update: `UPDATE customers SET name = CASE WHEN $2 THEN $3 ELSE name END, blocked = coalesce($4, blocked),
       locale = CASE WHEN $5 THEN $6 ELSE locale END, updated_at = now() WHERE id = $1`,
} as const;

function fromRow(r: Record<string, unknown>): CustomerSummary {
  return {
    id: Number(r.id),
    email: r.email as string,
    name: (r.name as string | null) ?? null,
    blocked: r.blocked as boolean,
    locale: (r.locale as string | null) ?? null,
    createdAt: new Date(r.created_at as string | Date),
    requestCount: Number(r.request_count),
  };
}

function requestFromRow(r: Record<string, unknown>): CustomerRequest {
  return {
    id: Number(r.id),
    status: r.status as string,
    subject: r.subject as string,
    createdAt: new Date(r.created_at as string | Date),
    groupId: (r.group_id as number | null) ?? null,
  };
}

/** An admin's change of a customer: undefined fields are left as they are. */
export interface CustomerChange {
  name?: string | null;
  blocked?: boolean;
  /** Canonical case (normalizeLocale); null: unknown. */
  locale?: string | null;
}

/** What the customer rules need of storage (CustomersService; an in-memory fake in unit tests). */
export interface CustomersStore {
  /** A page of the customers whose address or name contains `search` (literal LIKE text; null: every customer), by address. */
  list(search: string | null, offset: number, limit: number): Promise<CustomerSummary[]>;
  /** How many customers `list` pages through. */
  count(search: string | null): Promise<number>;
  findById(id: number): Promise<CustomerSummary | null>;
  /** The customer's requests, newest first. */
  requestsOf(customerId: number): Promise<CustomerRequest[]>;
  /** How many requests of these groups each of these customers has (a customer with none: no entry). */
  requestCountsInGroups(customerIds: number[], groupIds: readonly number[]): Promise<Map<number, number>>;
  /**
   * Sets the name, the blocked flag and the locale (each: undefined leaves it unchanged, null
   * clears name and locale); false when there is no such customer.
   */
  update(id: number, change: CustomerChange): Promise<boolean>;
}

/** The customers table, as the admin API searches, reads and changes it (RequestsRepository creates customers). */
@Injectable()
export class CustomersRepository implements CustomersStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly replicas: ReadReplicas,
  ) {}

  /** The list and its count: on a read replica when the call may use one (docs/replicas.md). */
  async list(search: string | null, offset: number, limit: number): Promise<CustomerSummary[]> {
    const rows: Record<string, unknown>[] = await this.replicas.read((ds) =>
      ds.query(search === null ? SQL.list : SQL.search, [search, offset, limit]),
    );
    return rows.map(fromRow);
  }

  async count(search: string | null): Promise<number> {
    const rows: Array<{ n: number }> = await this.replicas.read((ds) =>
      ds.query(search === null ? SQL.countAll : SQL.countMatching, [search]),
    );
    return rows[0].n;
  }

  async findById(id: number): Promise<CustomerSummary | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.findById, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async requestsOf(customerId: number): Promise<CustomerRequest[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.requestsOf, [customerId]);
    return rows.map(requestFromRow);
  }

  async requestCountsInGroups(customerIds: number[], groupIds: readonly number[]): Promise<Map<number, number>> {
    if (!customerIds.length) return new Map();
    const rows: Array<{ customer_id: number; n: number }> = await this.dataSource.query(SQL.requestCountsInGroups, [
      customerIds,
      [...groupIds],
    ]);
    return new Map(rows.map((r) => [r.customer_id, r.n]));
  }

  async update(id: number, change: CustomerChange): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(SQL.update, [
      id,
      change.name !== undefined,
      change.name ?? null,
      change.blocked ?? null,
      change.locale !== undefined,
      change.locale ?? null,
    ]);
    return count > 0;
  }
}
