/**
 * The SQL catalog: every repository (`src/<module>/<name>.repository.ts`) exports its statements
 * as `export const SQL = { name: 'text', ... } as const`, one entry per statement (or per fragment
 * of a statement built at run time). `npm run sql` writes each repository's statements to
 * `<name>.repository.sql` beside it, so a reviewer reads all the SQL of a table in one place;
 * `src/database/sql-catalog.spec.ts` fails when a committed `.sql` file is stale or missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The statements of one repository, by name. */
export type SqlStatements = Readonly<Record<string, string>>;

/** The repository files under `dir` (recursively), sorted. */
export function repositoryFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.repository\.(ts|js)$/.test(entry.name)) found.push(full);
    }
  };
  walk(dir);
  return found.sort();
}

/** The `.sql` file that holds the statements of repository `file` (ts or its compiled js). */
export function sqlFileOf(file: string): string {
  return file.replace(/\.repository\.(ts|js)$/, '.repository.sql');
}

/** The `.sql` text of one repository's statements: a header, then each statement under its name. */
export function renderSql(source: string, statements: SqlStatements): string {
  const names = Object.keys(statements);
  const body = names.map((name) => {
    const text = dedent(statements[name]).trim();
    return `-- name: ${name}\n${text.endsWith(';') ? text : `${text};`}\n`;
  });
  return `-- The SQL of ${source}, written by \`npm run sql\`; do not edit (edit the repository).\n\n${body.join('\n')}`;
}

/** Removes the indentation its lines share (a template literal indented with the code around it). */
function dedent(text: string): string {
  const lines = text.replace(/^\n+/, '').split('\n');
  const rest = lines.slice(1).filter((l) => l.trim() !== '');
  const indent = rest.length ? Math.min(...rest.map((l) => /^ */.exec(l)![0].length)) : 0;
  return [lines[0].trimStart(), ...lines.slice(1).map((l) => l.slice(Math.min(indent, /^ */.exec(l)![0].length)))]
    .join('\n')
    .replace(/[ \t]+$/gm, '');
}

/** The `SQL` export of a loaded repository module, checked. */
export function statementsOf(file: string, loaded: Record<string, unknown>): SqlStatements {
  const sql = loaded.SQL;
  if (!sql || typeof sql !== 'object') throw new Error(`${file}: a repository exports its statements as \`SQL\``);
  for (const [name, text] of Object.entries(sql)) {
    if (typeof text !== 'string' || !text.trim()) throw new Error(`${file}: SQL.${name} is not a statement`);
  }
  return sql as SqlStatements;
}
