import { normalizeLocale } from '../../common/locale';

/** Header values longer than this are not read (a language list is a few dozen characters). */
const MAX_HEADER = 1000;

/**
 * The tags of a Content-Language value (RFC 3282: a comma-separated list, comments allowed), in order.
 */
function contentLanguageTags(value: string): string[] {
  return value
    .replace(/\([^)]*\)/g, ' ')
    .split(',')
    .map((t) => t.trim());
}

/**
 * The tags of an Accept-Language value (RFC 9110: `ru-RU, ru;q=0.9, en;q=0.8`), best first (by q,
 * then in order); `*` and q=0 are no language.
 */
function acceptLanguageTags(value: string): string[] {
  return value
    .split(',')
    .map((item, index) => {
      const [tag, ...params] = item.split(';').map((p) => p.trim());
      const q = params.find((p) => /^q\s*=/i.test(p));
      const weight = q === undefined ? 1 : Number(q.replace(/^q\s*=\s*/i, ''));
      return { tag, weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((t) => t.tag !== '*' && t.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
    .map((t) => t.tag);
}

/**
 * The customer's language as a mail states it: the first well-formed tag of Content-Language
 * (the language the mail is written in), else the best one of Accept-Language (some clients send
 * it); canonical case (normalizeLocale); null when neither has one. `headers` as ParsedMail has
 * them (lower-case names, repeats joined by '\n').
 */
export function mailLocale(headers: ReadonlyMap<string, string>): string | null {
  const sources: Array<[string, (value: string) => string[]]> = [
    ['content-language', contentLanguageTags],
    ['accept-language', acceptLanguageTags],
  ];
  for (const [name, tagsOf] of sources) {
    const value = headers.get(name)?.split('\n')[0];
    if (!value || value.length > MAX_HEADER) continue;
    for (const tag of tagsOf(value)) {
      const locale = normalizeLocale(tag);
      if (locale) return locale;
    }
  }
  return null;
}
