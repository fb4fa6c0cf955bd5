import { CONFIG_TABLE, type ConfigVariable } from './config-variables';

/**
 * `.env.sample` and the reference section of docs/configuration.md, written from CONFIG_TABLE by
 * `npm run config:docs` (scripts/config-docs.mjs); src/config/config-reference.spec.ts fails when
 * either differs from what the table gives.
 */

/** The markers around the generated section of docs/configuration.md. */
export const REFERENCE_START =
  '<!-- config-reference:start (npm run config:docs writes this section from src/config/config-variables.ts) -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

type Table = Readonly<Record<string, ConfigVariable<unknown>>>;

/** The variables of `table` grouped by section, in the table's order. */
function sections(table: Table): Map<string, Array<[string, ConfigVariable<unknown>]>> {
  const out = new Map<string, Array<[string, ConfigVariable<unknown>]>>();
  for (const [name, variable] of Object.entries(table)) {
    const list = out.get(variable.section) ?? [];
    list.push([name, variable]);
    out.set(variable.section, list);
  }
  return out;
}

/** 26214400 -> `25 MiB`, for the byte sizes' defaults; undefined for anything else. */
function bytes(name: string, value: string): string | undefined {
  const n = Number(value);
  if (!/_BYTES$/.test(name) || !Number.isInteger(n) || n < 1024) return undefined;
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (n % size === 0) return `${n / size} ${unit}`;
  return undefined;
}

/** `.env.sample`: every variable under its section, its description (and what it accepts) above it. */
export function renderEnvSample(table: Table = CONFIG_TABLE): string {
  const lines = [
    '# MailDesk configuration. Copy to .env (the real environment wins over .env). Every variable is optional.',
    '# Written by `npm run config:docs` from src/config/config-variables.ts; docs/configuration.md has the same list.',
  ];
  for (const [section, variables] of sections(table)) {
    lines.push('', `# --- ${section} ---`);
    for (const [name, v] of variables) {
      const accepts = v.accepts.replace(/`/g, '');
      lines.push(`# ${v.description} [${accepts}${v.empty ? `; empty = ${v.empty}` : ''}]`, `${name}=${v.default}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The reference: one table per section (variable, default, what it accepts, what it does). */
export function renderReference(table: Table = CONFIG_TABLE): string {
  const out: string[] = [];
  for (const [section, variables] of sections(table)) {
    out.push(`### ${section}`, '', '| variable | default | accepts | what it does |', '|---|---|---|---|');
    for (const [name, v] of variables) {
      const size = bytes(name, v.default);
      const def = v.default ? `\`${v.default}\`${size ? ` (${size})` : ''}` : `empty: ${v.empty ?? 'unset'}`;
      out.push(`| \`${name}\` | ${cell(def)} | ${cell(v.accepts)} | ${cell(v.description)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `doc` with the text between the reference markers replaced by `reference`. */
export function withReference(doc: string, reference: string = renderReference()): string {
  const a = doc.indexOf(REFERENCE_START);
  const b = doc.indexOf(REFERENCE_END);
  if (a < 0 || b < a)
    throw new Error(`docs/configuration.md lacks the markers ${REFERENCE_START} ... ${REFERENCE_END}`);
  return `${doc.slice(0, a + REFERENCE_START.length)}\n\n${reference}\n${doc.slice(b)}`;
}
