import { parseMessageId, parseMessageIds } from './message-ids';

describe('message ids', () => {
  it('strips angle brackets and ignores comments', () => {
    expect(parseMessageId('<abc@example.com> (from a phone)')).toBe('abc@example.com');
    expect(parseMessageId('  abc@example.com ')).toBe('abc@example.com');
    expect(parseMessageId('<>')).toBeNull();
    expect(parseMessageId(null)).toBeNull();
  });

  it('lists every id of a References header', () => {
    expect(parseMessageIds('<a@x> <b@y>\t<c@z>')).toEqual(['a@x', 'b@y', 'c@z']);
    expect(parseMessageIds('a@x b@y')).toEqual(['a@x', 'b@y']);
  });
});
