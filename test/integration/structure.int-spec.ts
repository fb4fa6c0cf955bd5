import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

/**
 * The structure docs/architecture.md draws, checked on the source (no database, no build): SQL
 * lives in repositories, modules talk through services, controllers reach no storage, services run
 * no statement of their own. Each rule reports `file:line` of what breaks it; what is allowed
 * anyway is listed here with its reason.
 */

const ROOT = process.cwd();
const SRC = path.join(ROOT, 'src');

/**
 * Files of src/database/ that run SQL of their own: the plumbing under the repositories, which
 * serves every module and belongs to none.
 */
const SQL_INFRASTRUCTURE: Readonly<Record<string, string>> = {
  'src/database/database.ts':
    "the migration runner's advisory lock, on its own short-lived DataSource before the app exists",
  'src/database/embedded-database.ts': 'asks the server its version() to know the embedded database (PGlite)',
  'src/database/embedded-postgres.ts': "sets SESSION_SETTINGS on PGlite's one session, which ignores startup options",
  'src/database/prepared.ts': 'DEALLOCATEs the prepared statement its per-connection cache forgets',
};

/**
 * Repositories another module's files may import: src/database/lease-queue.repository.ts is not a
 * module's storage but the one lease queue's statement templates, which the outbox's and the
 * webhooks' repositories fill for their tables (and whose LeaseStore their specs' fakes implement).
 */
const SHARED_REPOSITORIES: Readonly<Record<string, string>> = {
  'src/database/lease-queue.repository.ts': "the lease queue's statements, filled in by each queue's own repository",
};

/**
 * The statements the codebase writes, recognised by their first words in upper case (as it writes
 * them) at the start of a string or template literal. `UPDATE` counts only with its `SET`, `WITH`
 * only with a CTE's `AS (`, `SET` only as a statement (`SET name =`, or a template's `SET ${name}`),
 * so that prose in capitals is not taken for SQL. Fragments (`WHERE ...`, a column list) are not
 * statements: a repository's SQL export holds those too, but they run only inside its statements.
 */
const STATEMENT =
  /^\s*(?:SELECT\b|INSERT INTO\b|UPDATE\s[^]*?\bSET\b|DELETE FROM\b|WITH\s[^]*?\bAS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(|CREATE\s|ALTER\s|COPY\s|LOCK\s|SET\s+(?:\w+\s*(?:=|TO\b)|$)|DEALLOCATE\s|TRUNCATE\s|DROP\s)/;

/** Names a controller must not import from TypeORM: the ways to storage that bypass a service. */
const STORAGE_NAMES = new Set([
  'DataSource',
  'EntityManager',
  'QueryRunner',
  'Repository',
  'InjectDataSource',
  'InjectEntityManager',
  'InjectRepository',
]);

/** Calls that reach storage, which a service leaves to its repositories. */
const STORAGE_CALLS = new Set(['query', 'createQueryBuilder', 'getRepository']);

interface SourceFile {
  /** Path from the repository's root, with forward slashes. */
  rel: string;
  /** The first folder under src/ (the module), '' for src/ itself. */
  module: string;
  ast: ts.SourceFile;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function moduleOf(rel: string): string {
  const parts = rel.split('/');
  return parts.length > 2 ? parts[1] : '';
}

const sources: SourceFile[] = tsFiles(SRC)
  .sort()
  .map((full) => {
    const rel = path.relative(ROOT, full).split(path.sep).join('/');
    const ast = ts.createSourceFile(full, fs.readFileSync(full, 'utf8'), ts.ScriptTarget.Latest, true);
    return { rel, module: moduleOf(rel), ast };
  });

const where = (file: SourceFile, node: ts.Node) =>
  `${file.rel}:${file.ast.getLineAndCharacterOfPosition(node.getStart(file.ast)).line + 1}`;

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** The text a literal starts with: a whole string, or a template's part before its first `${`. */
function literalStart(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text;
  return undefined;
}

/** Every SQL statement of a file (those `accept` takes), as `file:line: its first words`. */
function statementsIn(file: SourceFile, accept: (node: ts.Node) => boolean = () => true): string[] {
  const found: string[] = [];
  walk(file.ast, (node) => {
    const text = literalStart(node);
    if (text !== undefined && STATEMENT.test(text) && accept(node)) {
      found.push(`${where(file, node)}: ${text.trim().replace(/\s+/g, ' ').slice(0, 60)}`);
    }
  });
  return found;
}

interface Import {
  node: ts.Node;
  specifier: string;
  /** The names it imports, where it names them. */
  names: string[];
  /** The file it resolves to (relative imports only), from the root, without extension. */
  target?: string;
}

/** The imports and re-exports of a file, dynamic `import()` included. */
function importsOf(file: SourceFile): Import[] {
  const found: Import[] = [];
  const add = (node: ts.Node, specifier: string, names: string[]) => {
    const target = specifier.startsWith('.')
      ? path.posix.join(path.posix.dirname(file.rel), specifier).replace(/\.(ts|js)$/, '')
      : undefined;
    found.push({ node, specifier, names, target });
  };
  walk(file.ast, (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const names = [
        ...(clause?.name ? [clause.name.text] : []),
        ...(clause?.namedBindings && ts.isNamedImports(clause.namedBindings)
          ? clause.namedBindings.elements.map((e) => (e.propertyName ?? e.name).text)
          : []),
      ];
      add(node, node.moduleSpecifier.text, names);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const names =
        node.exportClause && ts.isNamedExports(node.exportClause)
          ? node.exportClause.elements.map((e) => (e.propertyName ?? e.name).text)
          : [];
      add(node, node.moduleSpecifier.text, names);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node, node.arguments[0].text, []);
    }
  });
  return found;
}

const isRepository = (target: string | undefined) => !!target && /\.repository$/.test(target);

describe('the structure', () => {
  it('finds the source', () => {
    expect(sources.length).toBeGreaterThan(100);
  });

  describe('SQL lives in repositories', () => {
    // Specs are left out: they spell statements out to check what a repository builds.
    const code = sources.filter((f) => !f.rel.endsWith('.spec.ts'));

    it('no SQL outside *.repository.ts but in the listed infrastructure files', () => {
      const outside = code
        .filter((f) => !f.rel.endsWith('.repository.ts') && !(f.rel in SQL_INFRASTRUCTURE))
        .flatMap((f) => statementsIn(f));
      expect(outside).toEqual([]);
    });

    it('a repository writes no statement inside its methods (each is a named entry of its SQL export)', () => {
      // Module-level fragments composed into the SQL export (customers' SUMMARY) reach the .sql
      // file through it; a statement written in a method or function would not.
      const inline = code
        .filter((f) => f.rel.endsWith('.repository.ts'))
        .flatMap((file) =>
          statementsIn(file, (node) => !!ts.findAncestor(node, (a) => ts.isFunctionLike(a) || ts.isClassLike(a))),
        );
      expect(inline).toEqual([]);
    });

    it('each listed infrastructure file still runs SQL (else strike it from the list)', () => {
      const stale = Object.keys(SQL_INFRASTRUCTURE).filter((rel) => {
        const file = code.find((f) => f.rel === rel);
        return !file || statementsIn(file).length === 0;
      });
      expect(stale).toEqual([]);
    });

    it('finds the statements of the repositories (the detector works)', () => {
      const inRepositories = code.filter((f) => f.rel.endsWith('.repository.ts')).flatMap((f) => statementsIn(f));
      expect(inRepositories.length).toBeGreaterThan(50);
      expect(inRepositories).toContainEqual(
        expect.stringMatching(/^src\/blocklist\/blocklist\.repository\.ts:\d+: SELECT/),
      );
    });

    it('knows a statement from prose', () => {
      for (const sql of [
        'SELECT 1',
        '\n      INSERT INTO t (a) VALUES ($1)',
        'UPDATE t\n SET a = $1',
        'DELETE FROM t WHERE id = $1',
        'WITH s AS (UPDATE t SET n = n + 1 RETURNING n) SELECT n FROM s',
        'CREATE TEMP TABLE x (a int)',
        'COPY x (a) FROM STDIN',
        'LOCK TABLE t',
        "SET statement_timeout = '1s'",
        'DEALLOCATE md_1',
      ]) {
        expect([sql, STATEMENT.test(sql)]).toEqual([sql, true]);
      }
      for (const prose of [
        'Select a request',
        'UPDATE the docs',
        'WITH care',
        'SET',
        'the mail was SELECTed',
        'created',
        'COPYRIGHT',
      ]) {
        expect([prose, STATEMENT.test(prose)]).toEqual([prose, false]);
      }
    });
  });

  it("no module imports another module's repository (modules talk through services)", () => {
    const crossing = sources.flatMap((file) =>
      importsOf(file)
        .filter(
          (i) =>
            isRepository(i.target) && moduleOf(i.target!) !== file.module && !(`${i.target}.ts` in SHARED_REPOSITORIES),
        )
        .map((i) => `${where(file, i.node)}: imports ${i.specifier}`),
    );
    expect(crossing).toEqual([]);
  });

  it('no controller imports a repository, a DataSource or an EntityManager', () => {
    const controllers = sources.filter((f) => f.rel.endsWith('.controller.ts'));
    expect(controllers.length).toBeGreaterThan(10);
    const reaching = controllers.flatMap((file) =>
      importsOf(file).flatMap((i) => {
        if (isRepository(i.target)) return [`${where(file, i.node)}: imports ${i.specifier}`];
        const storage = i.names.filter((n) => STORAGE_NAMES.has(n));
        return /^(typeorm|@nestjs\/typeorm)$/.test(i.specifier) && storage.length
          ? [`${where(file, i.node)}: imports ${storage.join(', ')} from ${i.specifier}`]
          : [];
      }),
    );
    expect(reaching).toEqual([]);
  });

  it('no service runs a query, builds one or takes a TypeORM repository (its repository does)', () => {
    const services = sources.filter((f) => f.rel.endsWith('.service.ts'));
    expect(services.length).toBeGreaterThan(10);
    const calls = services.flatMap((file) => {
      const found: string[] = [];
      walk(file.ast, (node) => {
        if (!ts.isCallExpression(node)) return;
        const callee = node.expression;
        const name = ts.isPropertyAccessExpression(callee)
          ? callee.name.text
          : ts.isIdentifier(callee)
            ? callee.text
            : undefined;
        if (name && STORAGE_CALLS.has(name)) found.push(`${where(file, node)}: calls ${name}(`);
      });
      return found;
    });
    expect(calls).toEqual([]);
  });
});
