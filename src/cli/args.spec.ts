import { checkArgs, parseArgs, positiveInt, required, UsageError } from './args';

describe('CLI arguments', () => {
  it('splits the command, positionals, --name value, --name=value and flags', () => {
    expect(parseArgs(['import:mbox', 'a.mbox', '--limit', '5', '--email=x@y.z', '--all'])).toEqual({
      command: 'import:mbox',
      positional: ['a.mbox'],
      options: { limit: '5', email: 'x@y.z', all: true },
    });
  });

  it('rejects unknown options, missing values, repeated options and wrong positional counts', () => {
    const spec = { values: ['email'], flags: ['all'], positional: [0, 1] as [number, number] };
    expect(() => checkArgs(parseArgs(['c', '--nope']), spec)).toThrow(/unknown option --nope/);
    expect(() => checkArgs(parseArgs(['c', '--email']), spec)).toThrow(/needs a value/);
    expect(() => checkArgs(parseArgs(['c', '--all=yes']), spec)).toThrow(/takes no value/);
    expect(() => checkArgs(parseArgs(['c', 'a', 'b']), spec)).toThrow(/unexpected argument b/);
    expect(() => parseArgs(['c', '--email', 'a@b.c', '--email', 'd@e.f'])).toThrow(UsageError);
    expect(() => parseArgs(['c', '-x'])).toThrow(/unknown option -x/);
  });

  it('reads required and integer options with usage errors', () => {
    expect(() => required(parseArgs(['c']), 'email')).toThrow(/--email is required/);
    expect(positiveInt(parseArgs(['c', '--limit', '20']), 'limit', 50, 100)).toBe(20);
    expect(positiveInt(parseArgs(['c']), 'limit', 50, 100)).toBe(50);
    expect(() => positiveInt(parseArgs(['c', '--limit', '0']), 'limit', 50, 100)).toThrow(/from 1 to 100/);
  });
});
