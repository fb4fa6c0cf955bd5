import { dataSourceOptions } from './data-source-options';
import { DatabaseConnection, namedStatements } from './pooler';
import { SESSION_OPTIONS } from './session-settings';

const pgbouncer = (preparedStatements: DatabaseConnection['preparedStatements']): DatabaseConnection => ({
  pooler: 'pgbouncer',
  directUrl: 'postgres://db:5432/desk',
  preparedStatements,
});

describe('the connection behind a pooler', () => {
  it('sends named statements unless behind PgBouncer, or as DATABASE_PREPARED_STATEMENTS says', () => {
    expect(namedStatements({ pooler: 'none', preparedStatements: 'auto' })).toBe(true);
    expect(namedStatements({ pooler: 'none', preparedStatements: 'off' })).toBe(false);
    expect(namedStatements(pgbouncer('auto'))).toBe(false);
    expect(namedStatements(pgbouncer('on'))).toBe(true);
  });

  it('sends the session settings as startup options only straight to PostgreSQL (PgBouncer refuses them)', () => {
    const extra = (c?: DatabaseConnection) => (dataSourceOptions('postgres://x/db', 4, c) as { extra: object }).extra;
    expect(extra()).toMatchObject({ options: SESSION_OPTIONS, max: 4 });
    expect(extra(pgbouncer('auto'))).not.toHaveProperty('options');
  });
});
