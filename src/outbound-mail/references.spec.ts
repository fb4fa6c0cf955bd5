import { bracketMessageId, buildReferences } from './references';

describe('buildReferences', () => {
  it('brackets each id and appends the replied-to id when missing', () => {
    expect(buildReferences(['a@x', '<b@x>'], 'c@x')).toBe('<a@x> <b@x> <c@x>');
  });

  it('does not repeat an id already in the chain', () => {
    expect(buildReferences(['a@x', 'b@x'], '<b@x>')).toBe('<a@x> <b@x>');
  });

  it('keeps the first and the newest ids when the chain is too long', () => {
    const chain = Array.from({ length: 100 }, (_, i) => `message-${String(i).padStart(3, '0')}@example.test`);
    const header = buildReferences(chain);
    expect(header.length).toBeLessThanOrEqual(990);
    const ids = header.split(' ');
    expect(ids[0]).toBe('<message-000@example.test>');
    expect(ids[ids.length - 1]).toBe('<message-099@example.test>');
    expect(ids[1]).not.toBe('<message-001@example.test>');
    // what is kept after the root is a contiguous run of the newest ids
    const kept = ids.slice(1).map((id) => Number(id.slice(9, 12)));
    expect(kept).toEqual(kept.map((_, i) => 100 - kept.length + i));
  });

  it('returns an empty string for an empty chain', () => {
    expect(buildReferences([], null)).toBe('');
  });

  it('removes whitespace and brackets that could break the header', () => {
    expect(bracketMessageId(' <a b\r\n@x> ')).toBe('<ab@x>');
  });
});
