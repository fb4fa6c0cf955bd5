import { localeChain, normalizeLocale } from '../../common/locale';
import { mailLocale } from './mail-locale';

const h = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('mailLocale', () => {
  it('takes Content-Language, lower-casing the language', () => {
    expect(mailLocale(h({ 'content-language': 'RU' }))).toBe('ru');
    expect(mailLocale(h({ 'content-language': ' pt-br ' }))).toBe('pt-BR');
  });

  it('takes the first well-formed tag of a list, skipping comments and junk', () => {
    expect(mailLocale(h({ 'content-language': 'x, (c) de-DE, en' }))).toBe('de-DE');
    expect(mailLocale(h({ 'content-language': '<script>, ru' }))).toBe('ru');
  });

  it('prefers Content-Language to Accept-Language', () => {
    expect(mailLocale(h({ 'content-language': 'ru', 'accept-language': 'en-US' }))).toBe('ru');
  });

  it('takes the best Accept-Language by q, then by order, skipping * and q=0', () => {
    expect(mailLocale(h({ 'accept-language': 'en;q=0.5, ru-RU, ru;q=0.9' }))).toBe('ru-RU');
    expect(mailLocale(h({ 'accept-language': '*, fr;q=0, de;q=0.1' }))).toBe('de');
  });

  it('is null without a usable header', () => {
    expect(mailLocale(h({}))).toBeNull();
    expect(mailLocale(h({ 'content-language': 'english please' }))).toBeNull();
    expect(mailLocale(h({ 'content-language': 'ru'.repeat(600) }))).toBeNull();
  });
});

describe('normalizeLocale and localeChain', () => {
  it('canonicalises case and refuses what is not a tag', () => {
    expect(normalizeLocale('ZH-hant-tw')).toBe('zh-Hant-TW');
    expect(normalizeLocale('e')).toBeNull();
    expect(normalizeLocale('en_US')).toBeNull();
    expect(normalizeLocale(`en-${'a'.repeat(8)}-${'b'.repeat(8)}-${'c'.repeat(8)}-${'d'.repeat(8)}`)).toBeNull();
  });

  it('lists the tags to try, most specific first', () => {
    expect(localeChain('pt-BR')).toEqual(['pt-br', 'pt']);
    expect(localeChain(null)).toEqual([]);
  });
});
