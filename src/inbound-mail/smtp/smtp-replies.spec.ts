import { acceptedText, tryLater } from './smtp-replies';

describe('smtp replies', () => {
  it('says what became of a stored mail, and a duplicate as such', () => {
    expect(acceptedText({ status: 'created', requestId: 4, messageId: 'a@b', reason: null })).toBe(
      '<a@b> stored (created request 4)',
    );
    expect(acceptedText({ status: 'quarantined', requestId: null, messageId: null, reason: 'no sender' })).toBe(
      'stored (quarantined)',
    );
    expect(acceptedText({ status: 'duplicate', requestId: 4, messageId: 'a@b', reason: null })).toBe(
      '<a@b> already stored (duplicate)',
    );
  });

  it('maps an unavailable database and any other failure to 451', () => {
    const down = tryLater(Object.assign(new Error('x'), { code: '57P01' }));
    expect(down.responseCode).toBe(451);
    expect(down.message).toMatch(/database or blob store unavailable/);
    const other = tryLater(new TypeError('boom'));
    expect(other.responseCode).toBe(451);
    expect(other.message).not.toMatch(/boom/);
  });
});
