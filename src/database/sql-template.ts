/**
 * Fills the `{name}` slots of an SQL template: an entry of a repository's `SQL` that is a fragment
 * of a statement built at run time (the request list, say). The values are other fragments of the
 * same `SQL`, `$n` placeholders and validated integer literals, never a value from a request: those
 * are bound parameters. Filled in one pass, so a value is never read for slots of its own.
 */
export function fillSql(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (slot, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${slot} in: ${template}`);
    return value;
  });
}
