import { MAX_TAGS, mailPriority, normalizeTag, normalizeTags } from './tags';

describe('tags', () => {
  it('normalizes: trimmed, lower-case, inner whitespace as one -', () => {
    expect(normalizeTag('  Billing Issue ')).toBe('billing-issue');
    expect(normalizeTag('VIP')).toBe('vip');
    expect(normalizeTag('a \t b')).toBe('a-b');
    expect(normalizeTag('Счёт')).toBe('счёт');
    expect(normalizeTag('team:ops/eu+1#2_x.y')).toBe('team:ops/eu+1#2_x.y');
  });

  it('refuses empty, too long and unsafe tags', () => {
    expect(normalizeTag('   ')).toBeNull();
    expect(normalizeTag('x'.repeat(51))).toBeNull();
    expect(normalizeTag('x'.repeat(50))).toBe('x'.repeat(50));
    for (const bad of ['a,b', '<script>', "o'neil", 'a"b', 'semi;colon', 'new\u0000line', 'emoji😀']) {
      expect(normalizeTag(bad)).toBeNull();
    }
  });

  it('drops duplicates after normalization, sorts, and reports invalid ones and too many', () => {
    expect(normalizeTags(['VIP', 'vip ', 'Billing', '<x>'])).toEqual({
      tags: ['billing', 'vip'],
      invalid: ['<x>'],
      tooMany: false,
    });
    const many = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`);
    expect(normalizeTags(many).tooMany).toBe(true);
    expect(normalizeTags(many.slice(1)).tooMany).toBe(false);
  });

  it('reads a high priority from mail headers, never urgent', () => {
    expect(mailPriority({ importance: 'High' })).toBe('high');
    expect(mailPriority({ xPriority: '1 (Highest)' })).toBe('high');
    expect(mailPriority({ xPriority: '2' })).toBe('high');
    expect(mailPriority({ xPriority: '3 (Normal)' })).toBe('normal');
    expect(mailPriority({ priority: 'urgent' })).toBe('high');
    expect(mailPriority({ importance: 'low' })).toBe('normal');
    expect(mailPriority({})).toBe('normal');
  });
});
