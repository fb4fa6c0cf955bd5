import { Inject, Injectable } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_LOCALE, languageOf, localeChain, normalizeLocale } from '../common/locale';
import { escapeHtml, fillPlaceholders, placeholdersIn } from '../common/placeholders';
import { subjectOrNone } from '../common/subject';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { AutoReplyEvent, RenderedMail } from './outgoing-mail';

/** Values a template can use. */
export interface TemplateVars {
  requestId: number | string;
  /** The request's subject. */
  subject: string;
  customerName?: string | null;
  customerEmail?: string | null;
  operatorName?: string | null;
  /** Defaults to SUPPORT_NAME. */
  supportName?: string | null;
  /** Defaults to SUPPORT_ADDRESS. */
  supportAddress?: string | null;
  /** The satisfaction links of the closing mail (rating 1-5 and its URL); empty elsewhere. */
  ratingLinks?: Array<{ rating: number; url: string }>;
  /**
   * The customer's language (BCP 47): the templates of `<event>.<locale>`, else of its language
   * (`pt` for `pt-BR`), else the default (English) ones; null or absent: the default ones.
   */
  locale?: string | null;
}

/** The words the service fills in itself, per language; other languages use English. */
interface Words {
  /** customerName when unknown. */
  customer: string;
  /** operatorName when unknown. */
  operator: string;
  /** The names of the ratings 1-5 in the satisfaction links. */
  ratings: Record<number, string>;
}

const WORDS: Record<string, Words> = {
  en: {
    customer: 'there',
    operator: 'our support team',
    ratings: { 1: 'poor', 2: 'fair', 3: 'good', 4: 'very good', 5: 'excellent' },
  },
  ru: {
    customer: 'уважаемый клиент',
    operator: 'наша служба поддержки',
    ratings: { 1: 'плохо', 2: 'удовлетворительно', 3: 'хорошо', 4: 'очень хорошо', 5: 'отлично' },
  },
};

/** The words for `locale`: its language's, else English. */
function wordsFor(locale: string | null | undefined): Words {
  return WORDS[locale ? languageOf(locale) : DEFAULT_LOCALE] ?? WORDS[DEFAULT_LOCALE];
}

/** The placeholders a template may contain. */
export const TEMPLATE_PLACEHOLDERS = [
  'requestId',
  'subject',
  'customerName',
  'customerEmail',
  'operatorName',
  'supportName',
  'supportAddress',
  'ratingLinks',
] as const;

export const AUTO_REPLY_EVENTS: readonly AutoReplyEvent[] = ['created', 'assigned', 'closed'];

const PARTS = { subject: 'subject.txt', text: 'text.txt', html: 'html' } as const;
type Part = keyof typeof PARTS;

/** A template of a language: `<event>.<locale>.<part>` (`created.ru.subject.txt`, `closed.pt-BR.html`). */
const LOCALIZED_FILE = /^([a-z]+)\.([A-Za-z0-9-]+)\.(subject\.txt|text\.txt|html)$/;

/** The languages (lower-case tags) that have at least one template file in `dir`. */
function localesIn(dir: string): string[] {
  const found: string[] = [];
  for (const file of fs.readdirSync(dir)) {
    const m = LOCALIZED_FILE.exec(file);
    if (!m || !(AUTO_REPLY_EVENTS as readonly string[]).includes(m[1])) continue;
    const locale = normalizeLocale(m[2]);
    if (locale) found.push(locale.toLowerCase());
  }
  return found;
}

/** The file of `event`'s `part` in `locale` ('' : the default language) in `dir`, when there is one (any case of the tag). */
function templateFile(dir: string, files: readonly string[], event: string, locale: string, part: Part): string | null {
  const wanted = (locale ? `${event}.${locale}.${PARTS[part]}` : `${event}.${PARTS[part]}`).toLowerCase();
  const name = files.find((f) => f.toLowerCase() === wanted);
  return name === undefined ? null : path.join(dir, name);
}

/** The templates shipped with MailDesk (copied next to the compiled code by the build). */
export function defaultTemplatesDir(): string {
  return typeof __dirname === 'string'
    ? path.join(__dirname, 'templates')
    : path.resolve('src/outbound-mail/templates');
}

/** The text of a template file, checked: an unknown placeholder is an error. */
function checked(file: string): string {
  const body = fs.readFileSync(file, 'utf8');
  for (const placeholder of placeholdersIn(body)) {
    if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(placeholder)) {
      throw new Error(
        `template ${file}: unknown placeholder {{${placeholder}}} (known: ${TEMPLATE_PLACEHOLDERS.join(', ')})`,
      );
    }
  }
  return body;
}

/**
 * The auto-reply texts: `<event>.subject.txt`, `<event>.text.txt` and `<event>.html` with
 * `{{placeholders}}`, in English, and the same per language as `<event>.<locale>.subject.txt` and
 * so on (`ru` ships). A file of the same name in TEMPLATES_DIR replaces the shipped one or adds a
 * language; files are read and checked (unknown placeholders are an error) once, at start.
 * A mail in `locale` takes each part from `<event>.<locale>`, else `<event>.<language>`, else the
 * English default.
 */
@Injectable()
export class TemplatesService {
  private readonly templates = new Map<string, string>();
  private readonly supportName: string;
  private readonly supportAddress: string;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'mail'>) {
    this.supportName = config.mail.supportName;
    this.supportAddress = config.mail.supportAddress;
    const overrides = config.mail.templatesDir;
    if (overrides && !fs.statSync(overrides, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`TEMPLATES_DIR ${overrides} is not a directory`);
    }
    const defaults = defaultTemplatesDir();
    const dirs = [overrides, defaults].filter((d): d is string => Boolean(d));
    const listing = new Map(dirs.map((d) => [d, fs.readdirSync(d)]));
    const locales = new Set(['', ...dirs.flatMap(localesIn)]);
    for (const locale of locales) {
      for (const event of AUTO_REPLY_EVENTS) {
        for (const part of Object.keys(PARTS) as Part[]) {
          const file = dirs.map((d) => templateFile(d, listing.get(d)!, event, locale, part)).find((f) => f !== null);
          if (!file) {
            if (locale === '') throw new Error(`template ${event}.${PARTS[part]} is missing`);
            continue;
          }
          this.templates.set(`${event}.${locale}.${part}`, checked(file));
        }
      }
    }
  }

  /** The languages with templates of their own (lower-case tags), besides the default English. */
  locales(): string[] {
    const found = new Set<string>();
    for (const key of this.templates.keys()) {
      const locale = key.split('.')[1];
      if (locale) found.add(locale);
    }
    return [...found].sort();
  }

  /** The template of `event`'s `part` for `locale`: its own, its language's, else the default. */
  private template(event: AutoReplyEvent, part: Part, locale: string | null | undefined): string | undefined {
    for (const tag of [...localeChain(locale), '']) {
      const body = this.templates.get(`${event}.${tag}.${part}`);
      if (body !== undefined) return body;
    }
    return undefined;
  }

  /** Subject, text and HTML of the auto-reply for `event`, with `vars` filled in (HTML-escaped in the HTML). */
  render(event: AutoReplyEvent, vars: TemplateVars): RenderedMail {
    const words = wordsFor(vars.locale);
    const values: Record<string, string> = {
      requestId: String(vars.requestId),
      subject: subjectOrNone(vars.subject),
      customerName: vars.customerName?.trim() || words.customer,
      customerEmail: vars.customerEmail?.trim() ?? '',
      operatorName: vars.operatorName?.trim() || words.operator,
      supportName: vars.supportName?.trim() || this.supportName,
      supportAddress: vars.supportAddress?.trim() || this.supportAddress,
      ratingLinks: (vars.ratingLinks ?? [])
        .map((l) => `${l.rating} (${words.ratings[l.rating] ?? l.rating}): ${l.url}`)
        .join('\n'),
    };
    // The HTML links are built here from escaped parts; every other value is escaped as a whole.
    const ratingHtml = (vars.ratingLinks ?? [])
      .map(
        (l) =>
          `<a href="${escapeHtml(l.url)}">${l.rating} &ndash; ${escapeHtml(words.ratings[l.rating] ?? String(l.rating))}</a>`,
      )
      .join(' &nbsp;|&nbsp; ');
    const fill = (part: Part, escape: (v: string) => string) => {
      const body = this.template(event, part, vars.locale);
      if (body === undefined) throw new Error(`no template for event "${event}"`);
      return fillPlaceholders(body, (name) =>
        part === 'html' && name === 'ratingLinks' ? ratingHtml : escape(values[name]),
      );
    };
    return {
      subject: fill('subject', (v) => v.replace(/[\r\n]+\s*/g, ' '))
        .replace(/\s+/g, ' ')
        .trim(),
      text: fill('text', (v) => v),
      html: fill('html', escapeHtml),
    };
  }
}
