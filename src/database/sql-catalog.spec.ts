import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderSql, repositoryFiles, sqlFileOf, statementsOf } from './sql-catalog';

// Jest runs from the repository's root (ESM: no __dirname).
const ROOT = process.cwd();
const SRC = path.join(ROOT, 'src');

describe('the SQL catalog', () => {
  const files = repositoryFiles(SRC);

  it('finds the repositories', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((f) => [path.relative(ROOT, f)]))(
    '%s has a current .sql file (npm run build && npm run sql)',
    async (rel) => {
      const file = path.join(ROOT, rel);
      const loaded = (await import(file)) as Record<string, unknown>;
      const expected = renderSql(rel, statementsOf(rel, loaded));
      const target = sqlFileOf(file);
      expect(fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '(missing)').toBe(expected);
    },
  );

  it('writes each statement under its name, dedented and ended', () => {
    const text = renderSql('src/x/x.repository.ts', {
      findOne: `SELECT a
        FROM t
        WHERE id = $1`,
      touch: 'UPDATE t SET n = n + 1;',
    });
    expect(text).toBe(
      '-- The SQL of src/x/x.repository.ts, written by `npm run sql`; do not edit (edit the repository).\n\n' +
        '-- name: findOne\nSELECT a\nFROM t\nWHERE id = $1;\n\n-- name: touch\nUPDATE t SET n = n + 1;\n',
    );
  });

  it('refuses a repository without statements', () => {
    expect(() => statementsOf('x.repository.ts', {})).toThrow(/exports its statements as `SQL`/);
    expect(() => statementsOf('x.repository.ts', { SQL: { a: '' } })).toThrow(/SQL.a is not a statement/);
  });
});
