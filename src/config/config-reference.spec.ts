import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderEnvSample, renderReference, REFERENCE_END, REFERENCE_START, withReference } from './config-reference';
import { CONFIG_TABLE, CONFIG_VARIABLES, readVariables } from './config-variables';

// Jest runs from the repository's root (ESM: no __dirname).
const ROOT = process.cwd();
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

describe('the configuration reference, written from CONFIG_TABLE', () => {
  it('.env.sample is current (npm run config:docs)', () => {
    expect(read('.env.sample')).toBe(renderEnvSample());
  });

  it("docs/configuration.md's reference section is current (npm run config:docs)", () => {
    const doc = read('docs/configuration.md');
    expect(doc).toBe(withReference(doc));
  });

  it('lists every variable once, each with a section, a description and what it accepts', () => {
    const reference = renderReference();
    for (const name of CONFIG_VARIABLES) {
      expect({ name, rows: reference.split(`| \`${name}\` |`).length - 1 }).toEqual({ name, rows: 1 });
      const v = CONFIG_TABLE[name];
      expect({ name, ok: !!(v.section && v.description && v.accepts) }).toEqual({ name, ok: true });
    }
  });

  it("gives each variable's default as its sample value, and the defaults pass the table's own parsing", () => {
    const sample = Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, CONFIG_TABLE[name].default]));
    expect(readVariables(sample)).toEqual(readVariables({}));
  });

  it('replaces only the text between its markers, and refuses a document without them', () => {
    const doc = `intro\n${REFERENCE_START}\nold\n${REFERENCE_END}\nafter\n`;
    expect(withReference(doc, 'NEW\n')).toBe(`intro\n${REFERENCE_START}\n\nNEW\n\n${REFERENCE_END}\nafter\n`);
    expect(() => withReference('no markers')).toThrow(/lacks the markers/);
  });
});
