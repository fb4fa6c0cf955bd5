import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Page } from '../common/pagination';

/** A customer as the API lists it. */
export interface CustomerSummary {
  id: number;
  email: string;
  name: string | null;
  blocked: boolean;
  createdAt: Date;
  requestCount: number;
}

/** One of a customer's requests. */
export interface CustomerRequest {
  id: number;
  status: string;
  subject: string;
  createdAt: Date;
}

/** `%`, `_` and `\` of user input made literal for LIKE/ILIKE (backslash is the default escape). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const SELECT = `SELECT c.id, c.email, c.name, c.blocked, c.created_at,
                       (SELECT count(*)::int FROM requests r WHERE r.customer_id = c.id) AS request_count
                  FROM customers c`;

function fromRow(r: Record<string, unknown>): CustomerSummary {
  return {
    id: Number(r.id),
    email: r.email as string,
    name: (r.name as string | null) ?? null,
    blocked: r.blocked as boolean,
    createdAt: new Date(r.created_at as string | Date),
    requestCount: Number(r.request_count),
  };
}

/** The people who write to support: search, one customer with their requests, and admin changes. */
@Injectable()
export class CustomersService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Customers whose address or name contains `q` (case-insensitive, literal), by address. */
  async list(q: string | undefined, page: number, limit: number): Promise<Page<CustomerSummary>> {
    const where = q
      ? `WHERE c.email ILIKE '%' || $1 || '%' OR c.name ILIKE '%' || $1 || '%'`
      : `WHERE $1::text IS NULL`;
    const param = q ? escapeLike(q.trim()) : null;
    const [rows, counted]: [Record<string, unknown>[], Array<{ n: number }>] = await Promise.all([
      this.dataSource.query(`${SELECT} ${where} ORDER BY c.email, c.id OFFSET $2 LIMIT $3`, [
        param,
        (page - 1) * limit,
        limit,
      ]),
      this.dataSource.query(`SELECT count(*)::int AS n FROM customers c ${where}`, [param]),
    ]);
    return { items: rows.map(fromRow), total: counted[0].n, page, limit };
  }

  /** One customer and their requests, newest first; 404 when unknown. */
  async get(id: number): Promise<CustomerSummary & { requests: CustomerRequest[] }> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(`${SELECT} WHERE c.id = $1`, [id]);
    if (!rows[0]) throw new NotFoundException(`customer ${id} does not exist`);
    const requests: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT id, status, subject, created_at FROM requests WHERE customer_id = $1 ORDER BY id DESC`,
      [id],
    );
    return {
      ...fromRow(rows[0]),
      requests: requests.map((r) => ({
        id: Number(r.id),
        status: r.status as string,
        subject: r.subject as string,
        createdAt: new Date(r.created_at as string | Date),
      })),
    };
  }

  /** Changes name and/or blocked (a blocked customer gets no auto-reply and opens no request); 404 when unknown. */
  async update(
    id: number,
    change: { name?: string | null; blocked?: boolean },
  ): Promise<CustomerSummary & { requests: CustomerRequest[] }> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE customers SET name = CASE WHEN $2 THEN $3 ELSE name END, blocked = coalesce($4, blocked), updated_at = now() WHERE id = $1`,
      [id, change.name !== undefined, change.name?.trim() || null, change.blocked ?? null],
    );
    if (!count) throw new NotFoundException(`customer ${id} does not exist`);
    return this.get(id);
  }
}
