import type { ArgSpec, ParsedArgs } from './args';
import type { CliContext } from './context';

/** The work of a command once its arguments are checked; resolves with the exit code. */
export type CommandRun = (ctx: CliContext) => Promise<number>;

/** One `maildesk <name>` command. */
export interface Command {
  name: string;
  /** Arguments, as shown in the usage text. */
  usage: string;
  summary: string;
  spec: ArgSpec;
  /** Checks the arguments (throws UsageError) before anything is opened, and returns the work. */
  prepare(args: ParsedArgs): CommandRun;
}

/** Where commands write their results (stdout); progress and errors go to stderr. */
export function say(line: string): void {
  process.stdout.write(line + '\n');
}
