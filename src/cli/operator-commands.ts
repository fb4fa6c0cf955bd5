import { randomBytes } from 'node:crypto';
import { isAddress } from '../common/addresses';
import { OperatorRole } from '../operators/operator.entity';
import { OperatorsService } from '../operators/operators.service';
import { CliError, optional, required, UsageError } from './args';
import { Command, say } from './command';

const ROLES: OperatorRole[] = ['admin', 'operator'];
const MIN_PASSWORD = 8;

/** The given password (checked like the API does) or a generated one. */
function passwordOption(value: string | undefined): { password: string; generated: boolean } {
  if (value === undefined) return { password: randomBytes(12).toString('base64url'), generated: true };
  if (value.length < MIN_PASSWORD) throw new UsageError(`--password must be at least ${MIN_PASSWORD} characters`);
  return { password: value, generated: false };
}

function emailOption(value: string): string {
  if (!isAddress(value)) throw new UsageError(`--email must be an email address (got "${value}")`);
  return value.toLowerCase();
}

/** `operator:create`: a new operator; the password is generated and printed once when not given. */
export const operatorCreate: Command = {
  name: 'operator:create',
  usage: '--email EMAIL --name NAME [--role admin|operator] [--password PASSWORD]',
  summary: 'create an operator (role operator by default); prints a generated password once',
  spec: { values: ['email', 'name', 'role', 'password'] },
  prepare(args) {
    const email = emailOption(required(args, 'email'));
    const name = required(args, 'name');
    const role = (optional(args, 'role') ?? 'operator') as OperatorRole;
    if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const { password, generated } = passwordOption(optional(args, 'password'));
    return async (ctx) => {
      const op = await ctx.app
        .get(OperatorsService)
        .create({ email, name, role, password })
        .catch((e: Error) => {
          throw new CliError(e.message.includes('exists') ? `an operator with the email ${email} exists` : e.message);
        });
      say(`created operator ${op.id} ${op.email} (${op.role})`);
      if (generated) say(`password: ${password}   (shown once)`);
      return 0;
    };
  },
};

/** `operator:reset-password`: sets a new password and ends every token issued before. */
export const operatorResetPassword: Command = {
  name: 'operator:reset-password',
  usage: '--email EMAIL [--password PASSWORD]',
  summary: "set an operator's password (generated and printed when not given); signs them out everywhere",
  spec: { values: ['email', 'password'] },
  prepare(args) {
    const email = emailOption(required(args, 'email'));
    const { password, generated } = passwordOption(optional(args, 'password'));
    return async (ctx) => {
      const operators = ctx.app.get(OperatorsService);
      const op = (await operators.list()).find((o) => o.email === email);
      if (!op) throw new CliError(`no operator has the email ${email}`);
      await operators.update(op.id, { password });
      say(`password of operator ${op.id} ${op.email} changed; tokens issued before no longer work`);
      if (!op.active) say('note: this operator is deactivated and cannot log in until reactivated');
      if (generated) say(`password: ${password}   (shown once)`);
      return 0;
    };
  },
};
