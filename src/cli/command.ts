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
  /** True for a command that only reads (a list): it is not written to the audit log. */
  readOnly?: boolean;
  /** Checks the arguments (throws UsageError) before anything is opened, and returns the work. */
  prepare(args: ParsedArgs): CommandRun;
}

/**
 * A command that opens neither the database nor the application (`mailgate`, called by mail
 * servers): its work takes no context, and its wrong usage exits with its own code (sysexits.h).
 */
export interface StandaloneCommand extends Omit<Command, 'prepare'> {
  standalone: true;
  /** The exit code of a wrong command line (`EX_USAGE`, 64, where mail servers read the code). */
  usageExitCode: number;
  prepare(args: ParsedArgs): () => Promise<number>;
}

/** Any `maildesk <name>` command. */
export type AnyCommand = Command | StandaloneCommand;

/** Where commands write their results (stdout); progress and errors go to stderr. */
export function say(line: string): void {
  process.stdout.write(line + '\n');
}
