#!/usr/bin/env node
// `maildesk <command>` (npm run cli -- <command>): operator and mailbox chores on the server's
// configuration and database, without HTTP and without the background workers.
import 'reflect-metadata';
import { tuneHeap } from './runtime/heap';
import { AuditService } from './audit/audit.service';
import { CliError, parseArgs, type ParsedArgs, UsageError, checkArgs } from './cli/args';
import type { AnyCommand, CommandRun, StandaloneCommand } from './cli/command';
import { type CliContext, openCliContext } from './cli/context';
import { blobsMigrate, blobsSweep } from './cli/blob-commands';
import { importImap, importMbox } from './cli/import-commands';
import { mailgate } from './cli/mailgate-command';
import { mailboxAdd, mailboxList, mailboxRemove, mailboxUpdate, rotateEncryptionKey } from './cli/mailbox-commands';
import { operatorCreate, operatorResetPassword } from './cli/operator-commands';
import { quarantineList, quarantineReplay } from './cli/quarantine-commands';

/** Every command, in the order the usage text lists them. */
export const COMMANDS: AnyCommand[] = [
  operatorCreate,
  operatorResetPassword,
  quarantineList,
  quarantineReplay,
  importMbox,
  importImap,
  mailboxList,
  mailboxAdd,
  mailboxUpdate,
  mailboxRemove,
  rotateEncryptionKey,
  blobsMigrate,
  blobsSweep,
  mailgate,
];

/** `maildesk mailbox list` is `maildesk mailbox:list` (any `group:command` may be written with a space). */
function joinSubcommand(args: ReturnType<typeof parseArgs>): void {
  const [sub] = args.positional;
  if (args.command === undefined || sub === undefined || COMMANDS.some((c) => c.name === args.command)) return;
  if (COMMANDS.some((c) => c.name === `${args.command}:${sub}`)) {
    args.command = `${args.command}:${sub}`;
    args.positional.shift();
  }
}

/** The standalone command a command line names (its first word), for the exit code of its wrong usage. */
function standaloneNamed(argv: string[]): StandaloneCommand | undefined {
  const command = COMMANDS.find((c) => c.name === argv[0]);
  return command && 'standalone' in command ? command : undefined;
}

/** Exit codes: 0 done, 1 the command failed, 2 it was called wrongly. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: maildesk <command> [arguments]   (npm run cli -- <command> ...)',
    '',
    ...COMMANDS.flatMap((c) => [`  ${c.name.padEnd(width)}  ${c.usage}`, `  ${''.padEnd(width)}    ${c.summary}`]),
    '',
    'Reads the same environment and .env as the server (DATABASE_URL, DATA_DIR, ...).',
    'Exit codes: 0 done, 1 failed, 2 wrong usage (mailgate: its own, see docs/ways-in.md).',
  ].join('\n');
}

/** Writes a command's row to the audit log; a failure to is said on stderr and changes no exit code. */
async function auditCommand(ctx: CliContext, name: string, args: ParsedArgs, exitCode: number): Promise<void> {
  try {
    await ctx.app.get(AuditService).recordSystem(name, { options: args.options, positional: args.positional, exitCode });
  } catch (e) {
    process.stderr.write(`maildesk: the audit log did not take this command: ${(e as Error).message}\n`);
  }
}

/** Runs one command line; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let run: CommandRun | undefined;
  let audited: { name: string; args: ParsedArgs } | undefined;
  let standalone: (() => Promise<number>) | undefined;
  try {
    const args = parseArgs(argv);
    joinSubcommand(args);
    if (args.command === 'help' || args.options.help === true) {
      process.stdout.write(usage() + '\n');
      return EXIT.ok;
    }
    if (args.command === undefined) throw new UsageError('no command given');
    const command = COMMANDS.find((c) => c.name === args.command);
    if (!command) throw new UsageError(`unknown command ${args.command}`);
    try {
      checkArgs(args, command.spec);
      if ('standalone' in command) standalone = command.prepare(args);
      else {
        run = command.prepare(args);
        if (!command.readOnly) audited = { name: command.name, args };
      }
    } catch (e) {
      if (e instanceof UsageError)
        throw new UsageError(`${e.message}\nusage: maildesk ${command.name} ${command.usage}`);
      throw e;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`maildesk: ${e.message}\n${e.message.includes('usage:') ? '' : `\n${usage()}\n`}`);
    return standaloneNamed(argv)?.usageExitCode ?? EXIT.usage;
  }
  // mailgate and its kind open no database: they report their own failures and exit codes.
  if (standalone) return standalone();
  try {
    const ctx = await openCliContext();
    let code: number = EXIT.error;
    try {
      code = await run!(ctx);
      return code;
    } finally {
      // Every command that changes something is in the audit log, as actor 'system', whatever its
      // outcome (a failed import may have imported half): its options redacted (passwords, URLs').
      if (audited) await auditCommand(ctx, audited.name, audited.args, code);
      await ctx.close();
    }
  } catch (e) {
    const message = e instanceof CliError ? e.message : `failed: ${(e as Error).message}`;
    process.stderr.write(`maildesk: ${message}\n`);
    return EXIT.error;
  }
}

if (typeof require === 'function' && require.main === module) {
  tuneHeap();
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`maildesk: ${e.stack ?? e.message}\n`);
      process.exit(EXIT.error);
    },
  );
}
