/**
 * Language tags of customers (issue 20, "The customer's language"): a simplified BCP 47 shape,
 * the same as the `customers_locale_shape` CHECK of the database: a 2-3 letter language, then
 * subtags of 2-8 letters or digits, at most 35 characters in all.
 */

/** The longest tag stored (the database CHECK says the same). */
export const LOCALE_MAX_LENGTH = 35;

/** The shape of a tag, in any case (`pt-br`, `PT-BR`, `zh-Hant-TW`). */
export const LOCALE_SHAPE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/** The language everything falls back to: the templates without a language in their file name. */
export const DEFAULT_LOCALE = 'en';

/**
 * The canonical form of a tag, or null when it is not one: the language lower-case, a 4-letter
 * script title-case (`Hant`), a 2-letter region upper-case (`BR`), every other subtag lower-case
 * (as BCP 47 recommends; the tags are case-insensitive, so `pt-br` and `pt-BR` are one language).
 */
export function normalizeLocale(tag: string): string | null {
  const value = tag.trim();
  if (value.length > LOCALE_MAX_LENGTH || !LOCALE_SHAPE.test(value)) return null;
  const [language, ...rest] = value.split('-');
  return [
    language.toLowerCase(),
    ...rest.map((sub) => {
      if (/^[A-Za-z]{4}$/.test(sub)) return sub[0].toUpperCase() + sub.slice(1).toLowerCase();
      if (/^[A-Za-z]{2}$/.test(sub)) return sub.toUpperCase();
      return sub.toLowerCase();
    }),
  ].join('-');
}

/** The language part of a tag (`pt` of `pt-BR`), lower-case. */
export function languageOf(locale: string): string {
  return locale.split('-')[0].toLowerCase();
}

/**
 * The tags to try for `locale`, most specific first, lower-case: `pt-br-x` -> `pt-br-x`, `pt-br`,
 * `pt`; none for null. The caller ends with its default.
 */
export function localeChain(locale: string | null | undefined): string[] {
  if (!locale) return [];
  const parts = locale.toLowerCase().split('-');
  const chain: string[] = [];
  for (let n = parts.length; n >= 1; n--) chain.push(parts.slice(0, n).join('-'));
  return chain;
}
