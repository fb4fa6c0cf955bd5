/** A mistake in how the CLI was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** A failure of the command itself (bad file, unknown operator, unreachable server): exit code 1. */
export class CliError extends Error {}

/** `maildesk <command> [positionals] [--name value | --name=value | --flag]`. */
export interface ParsedArgs {
  command: string | undefined;
  positional: string[];
  options: Record<string, string | true>;
}

/** Splits argv (without node and the script) into command, positionals and options. */
export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { command: undefined, positional: [], options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(a);
    if (m) {
      const [, name, inline] = m;
      if (name in out.options) throw new UsageError(`--${name} given twice`);
      if (inline !== undefined) out.options[name] = inline;
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out.options[name] = argv[++i];
      else out.options[name] = true;
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(`unknown option ${a}`);
    } else if (out.command === undefined) {
      out.command = a;
    } else {
      out.positional.push(a);
    }
  }
  return out;
}

/** What a command accepts: options taking a value, flags, and how many positionals. */
export interface ArgSpec {
  values?: string[];
  flags?: string[];
  positional?: [min: number, max: number];
}

/** Throws UsageError for an unknown option, a flag given a value (or the reverse), or a wrong positional count. */
export function checkArgs(args: ParsedArgs, spec: ArgSpec): void {
  const values = spec.values ?? [];
  const flags = spec.flags ?? [];
  for (const [name, v] of Object.entries(args.options)) {
    if (values.includes(name)) {
      if (v === true) throw new UsageError(`--${name} needs a value`);
    } else if (flags.includes(name)) {
      if (v !== true) throw new UsageError(`--${name} takes no value`);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  const [min, max] = spec.positional ?? [0, 0];
  if (args.positional.length < min) throw new UsageError(`missing argument`);
  if (args.positional.length > max) throw new UsageError(`unexpected argument ${args.positional[max]}`);
}

/** The value of a required option. */
export function required(args: ParsedArgs, name: string): string {
  const v = args.options[name];
  if (typeof v !== 'string' || !v.trim()) throw new UsageError(`--${name} is required`);
  return v.trim();
}

/** The value of an optional option. */
export function optional(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

/** A positive integer option, or `def`. */
export function positiveInt(args: ParsedArgs, name: string, def: number, max: number): number {
  const v = optional(args, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new UsageError(`--${name} must be an integer from 1 to ${max}`);
  return Number(v);
}
