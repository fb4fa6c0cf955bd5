import { fillSql } from './sql-template';

describe('fillSql', () => {
  it('fills every slot, the same one as often as it appears', () => {
    expect(fillSql('{column} {direction}, r.id {direction}', { column: 'r.created_at', direction: 'DESC' })).toBe(
      'r.created_at DESC, r.id DESC',
    );
  });

  it('fills in one pass: a value that looks like a slot stays as it is', () => {
    expect(fillSql('WHERE {conditions}', { conditions: 'x = {y}' })).toBe('WHERE x = {y}');
  });

  it('refuses a slot without a value', () => {
    expect(() => fillSql('LIMIT {limit}', {})).toThrow('no value for {limit} in: LIMIT {limit}');
  });
});
