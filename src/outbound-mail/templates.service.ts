import { Inject, Injectable } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
}

const RATING_LABELS: Record<number, string> = { 1: 'poor', 2: 'fair', 3: 'good', 4: 'very good', 5: 'excellent' };

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

/** The templates shipped with MailDesk (copied next to the compiled code by the build). */
export function defaultTemplatesDir(): string {
  return typeof __dirname === 'string'
    ? path.join(__dirname, 'templates')
    : path.resolve('src/outbound-mail/templates');
}

/**
 * The auto-reply texts: `<event>.subject.txt`, `<event>.text.txt` and `<event>.html` with
 * `{{placeholders}}`. A file of the same name in TEMPLATES_DIR replaces the default one; files
 * are read and checked (unknown placeholders are an error) once, at start.
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
    for (const event of AUTO_REPLY_EVENTS) {
      for (const part of Object.keys(PARTS) as Part[]) {
        const name = `${event}.${PARTS[part]}`;
        const custom = overrides ? path.join(overrides, name) : undefined;
        const file = custom && fs.existsSync(custom) ? custom : path.join(defaults, name);
        const body = fs.readFileSync(file, 'utf8');
        for (const placeholder of placeholdersIn(body)) {
          if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(placeholder)) {
            throw new Error(
              `template ${file}: unknown placeholder {{${placeholder}}} (known: ${TEMPLATE_PLACEHOLDERS.join(', ')})`,
            );
          }
        }
        this.templates.set(`${event}.${part}`, body);
      }
    }
  }

  /** Subject, text and HTML of the auto-reply for `event`, with `vars` filled in (HTML-escaped in the HTML). */
  render(event: AutoReplyEvent, vars: TemplateVars): RenderedMail {
    const values: Record<string, string> = {
      requestId: String(vars.requestId),
      subject: subjectOrNone(vars.subject),
      customerName: vars.customerName?.trim() || 'there',
      customerEmail: vars.customerEmail?.trim() ?? '',
      operatorName: vars.operatorName?.trim() || 'our support team',
      supportName: vars.supportName?.trim() || this.supportName,
      supportAddress: vars.supportAddress?.trim() || this.supportAddress,
      ratingLinks: (vars.ratingLinks ?? [])
        .map((l) => `${l.rating} (${RATING_LABELS[l.rating] ?? l.rating}): ${l.url}`)
        .join('\n'),
    };
    // The HTML links are built here from escaped parts; every other value is escaped as a whole.
    const ratingHtml = (vars.ratingLinks ?? [])
      .map(
        (l) =>
          `<a href="${escapeHtml(l.url)}">${l.rating} &ndash; ${escapeHtml(RATING_LABELS[l.rating] ?? String(l.rating))}</a>`,
      )
      .join(' &nbsp;|&nbsp; ');
    const fill = (part: Part, escape: (v: string) => string) => {
      const body = this.templates.get(`${event}.${part}`);
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
