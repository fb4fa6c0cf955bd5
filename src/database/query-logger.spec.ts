import { jest } from '@jest/globals';
import { redactQueryError } from './query-logger';

describe('redactQueryError', () => {
  it('redacts the values it finds, and does not build text of parameters longer than the message', () => {
    const raw = Buffer.alloc(20 * 1024 * 1024, 0x41);
    const stringify = jest.spyOn(JSON, 'stringify');
    const toString = jest.spyOn(raw, 'toString');
    const message = 'duplicate key value violates unique constraint: "secret@customer.test"';
    expect(redactQueryError(message, ['webhook', 'secret@customer.test', 1024, raw])).toBe(
      'duplicate key value violates unique constraint: "[redacted]"',
    );
    expect(redactQueryError('value "secret@customer.test" is wrong', [['secret@customer.test'], { raw }])).toBe(
      'value "[redacted]" is wrong',
    );
    expect(stringify).toHaveBeenCalledTimes(1); // [['secret@customer.test']]'s JSON only
    expect(toString).not.toHaveBeenCalled();
    stringify.mockRestore();
  });
});
