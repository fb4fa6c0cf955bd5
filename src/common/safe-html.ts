/**
 * Safe HTML: the one home of the allow-list every mail HTML goes through before a client or a
 * customer gets it (issue 20; docs/conversations.md "Safe HTML").
 *
 * - `sanitizeMailHtml` turns hostile HTML (a customer's mail, an operator's message) into the
 *   stored form (messages.safe_html): sanitize-html with an explicit allow-list of tags and
 *   attributes fit for mail, inline styles filtered to a safe property list, links opening in a new
 *   tab without a referrer, `cid:` images kept as `cid:`, remote (http/https) images kept as
 *   `data-remote-src` with no `src` (tracking pixels load nothing), small data: images
 *   (png/jpeg/gif/webp, base64) kept. Inbound mail is sanitized in the parse thread (parse-worker.ts),
 *   never on the event loop.
 * - `renderSafeHtml` makes the stored form what one response serves: `cid:` srcs become the
 *   attachment download URL, remote images stay blocked (counted) unless the reader asks for them.
 *   It only rewrites `<img>` tags of sanitize-html's own canonical output, so it needs no second
 *   sanitizing pass.
 * - `htmlToPlainText` is the text alternative of an operator's HTML.
 */
import { convert } from 'html-to-text';
import sanitizeHtml from 'sanitize-html';

/** Characters of HTML sanitized at most; the rest is cut and a notice says so (CPU and memory bound). */
export const SAFE_HTML_MAX_INPUT = 1024 * 1024;

/** Characters of a data: image's URL kept at most (about 192 KB of image); larger ones are dropped. */
export const DATA_IMAGE_MAX_CHARS = 256 * 1024;

/** What a cut HTML ends with in its stored form: the rest was not sanitized and is not shown. */
export const CUT_NOTICE = '<p><em>[The rest of this HTML message is too long and is not shown.]</em></p>';

/** A CSS value kept in a style attribute: no functions that load or run anything, no escapes, no markup. */
const SAFE_CSS_VALUE =
  /^(?![\s\S]*(?:url|expression|image|image-set|cross-fade|element|attr|var|env|paint)\s*\()(?![\s\S]*(?:javascript|vbscript|behavior|binding)\b)[-\w\s#%.,'"()!/+]{0,200}$/i;

/** The inline style properties mail layout relies on (no position, z-index, background images, behaviours). */
const STYLE_PROPERTIES = [
  'color',
  'background-color',
  'font',
  'font-family',
  'font-size',
  'font-style',
  'font-weight',
  'font-variant',
  'text-align',
  'text-decoration',
  'text-indent',
  'text-transform',
  'letter-spacing',
  'line-height',
  'white-space',
  'word-break',
  'vertical-align',
  'direction',
  'display',
  'margin',
  'margin-top',
  'margin-right',
  'margin-bottom',
  'margin-left',
  'padding',
  'padding-top',
  'padding-right',
  'padding-bottom',
  'padding-left',
  'border',
  'border-top',
  'border-right',
  'border-bottom',
  'border-left',
  'border-color',
  'border-style',
  'border-width',
  'border-collapse',
  'border-spacing',
  'border-radius',
  'width',
  'height',
  'max-width',
  'min-width',
  'max-height',
  'min-height',
  'list-style-type',
];

/** Layout attributes of old-style table mail (Outlook, newsletters). */
const TABLE_LAYOUT = ['align', 'valign', 'width', 'height', 'bgcolor', 'border', 'cellpadding', 'cellspacing'];

/** The tags kept; everything else is dropped (its text kept, except for the tags in NON_TEXT_TAGS). */
const ALLOWED_TAGS = [
  'p', 'br', 'div', 'span', 'a', 'b', 'strong', 'i', 'em', 'u', 's', 'strike', 'sub', 'sup', 'small', 'big',
  'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'blockquote', 'pre', 'code', 'tt', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'table', 'caption', 'colgroup', 'col', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th', 'img', 'hr', 'font',
  'center', 'abbr', 'cite', 'q', 'mark', 'del', 'ins',
]; // prettier-ignore

/** Tags dropped with their content: code, style sheets, document metadata, form controls' text. */
const NON_TEXT_TAGS = [
  'script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'xml', 'template', 'iframe', 'noembed',
  'noframes', 'object', 'embed', 'applet', 'svg', 'math', 'select', 'frameset', 'xmp', 'plaintext',
]; // prettier-ignore

/** A decoded, control-character-free URL value of an attribute. */
function cleanUrl(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u0020\u007f-\u009f]+/g, '');
}

/** An absolute http(s) URL (protocol-relative taken as https), normalised; null otherwise. */
function remoteUrl(value: string): string | null {
  const v = cleanUrl(value);
  const candidate = v.startsWith('//') ? `https:${v}` : v;
  if (!/^https?:/i.test(candidate)) return null;
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Where an `<img src>` points: a part of the mail, a remote server (blocked), a small inline image, or nowhere. */
function imageSource(value: string): { src: string } | { remote: string } | null {
  const v = cleanUrl(value);
  if (/^cid:/i.test(v)) return v.length > 5 && v.length <= 1000 ? { src: `cid:${v.slice(4)}` } : null;
  if (/^data:image\/(png|jpeg|gif|webp);base64,[a-z0-9+/=]+$/i.test(v))
    return v.length <= DATA_IMAGE_MAX_CHARS ? { src: v } : null;
  const remote = remoteUrl(v);
  return remote ? { remote } : null;
}

/** A link target kept: absolute http(s) or mailto, or a fragment of the same message. */
function linkTarget(value: string): string | null {
  const v = cleanUrl(value);
  if (/^#[\w.:-]*$/.test(v)) return v;
  if (/^mailto:/i.test(v)) return v.length <= 2000 ? v : null;
  return remoteUrl(v);
}

const IMG_ATTRIBUTES = ['alt', 'title', 'width', 'height', 'align', 'border', 'style'];

const POLICY: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  nonTextTags: NON_TEXT_TAGS,
  disallowedTagsMode: 'discard',
  allowedAttributes: {
    '*': ['style', 'title', 'dir', 'lang', 'align'],
    a: ['href', 'target', 'rel'],
    img: ['src', 'data-remote-src', ...IMG_ATTRIBUTES],
    font: ['color', 'face', 'size'],
    table: [...TABLE_LAYOUT, 'summary'],
    tr: TABLE_LAYOUT,
    td: [...TABLE_LAYOUT, 'colspan', 'rowspan', 'nowrap'],
    th: [...TABLE_LAYOUT, 'colspan', 'rowspan', 'nowrap', 'scope'],
    thead: TABLE_LAYOUT,
    tbody: TABLE_LAYOUT,
    tfoot: TABLE_LAYOUT,
    col: ['span', 'width', 'align', 'valign'],
    colgroup: ['span', 'width', 'align', 'valign'],
    ol: ['start', 'type'],
    ul: ['type'],
    blockquote: ['cite'],
    q: ['cite'],
    hr: ['width', 'size', 'noshade'],
  },
  allowedStyles: { '*': Object.fromEntries(STYLE_PROPERTIES.map((p) => [p, [SAFE_CSS_VALUE]])) },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['cid', 'data', 'http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  enforceHtmlBoundary: false,
  transformTags: {
    a: (tagName, attribs) => {
      const href = attribs.href === undefined ? null : linkTarget(attribs.href);
      const kept: Record<string, string> = {};
      for (const name of ['style', 'title', 'dir', 'lang']) if (attribs[name] !== undefined) kept[name] = attribs[name];
      if (href === null) return { tagName, attribs: kept };
      return {
        tagName,
        attribs: {
          ...kept,
          href,
          ...(href.startsWith('#') ? {} : { target: '_blank', rel: 'noopener noreferrer nofollow' }),
        },
      };
    },
    img: (tagName, attribs) => {
      const kept: Record<string, string> = {};
      for (const name of IMG_ATTRIBUTES) if (attribs[name] !== undefined) kept[name] = attribs[name];
      const source = attribs.src === undefined ? null : imageSource(attribs.src);
      if (source && 'src' in source) kept.src = source.src;
      else if (source) kept['data-remote-src'] = source.remote;
      return { tagName, attribs: kept };
    },
  },
  // An image with nowhere to load from (javascript:, relative, oversized data:) is dropped whole.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src && !frame.attribs['data-remote-src'],
};

/**
 * The stored, safe form of a mail's HTML (messages.safe_html): the allow-list applied, remote
 * images held back in `data-remote-src`, `cid:` images kept. HTML over `maxInput` characters
 * (SAFE_HTML_MAX_INPUT) is cut there (a possibly cut tag is dropped by the parser) and ends with
 * CUT_NOTICE. Pure CPU, about linear in the input (1 MB of real newsletter HTML: ~1-3 s on a
 * loaded 2-CPU machine); inbound mail runs it in the parse thread.
 */
export function sanitizeMailHtml(html: string, maxInput = SAFE_HTML_MAX_INPUT): string {
  const cut = html.length > maxInput;
  const clean = sanitizeHtml(cut ? html.slice(0, maxInput) : html, POLICY).trim();
  return cut ? `${clean}${CUT_NOTICE}` : clean;
}

/**
 * Characters of a row's raw HTML sanitized when it is read (rows stored before safe_html): on the
 * event loop, so a quarter of the ingest bound (a few hundred ms at worst).
 */
export const READ_SANITIZE_MAX_INPUT = 256 * 1024;

/** How a response serves stored safe HTML. */
export interface RenderOptions {
  /** Show remote images (`?remoteImages=true`): data-remote-src becomes src again. Default: blocked. */
  remoteImages?: boolean;
  /**
   * The URL a `cid:` image is served at (its attachment's download route), or null to keep the
   * `cid:` (the form an outgoing mail needs).
   */
  cidUrl?: (contentId: string) => string | null;
  /** The HTML was cut (a conversation page): drop a tag the cut left unfinished at the end. */
  cut?: boolean;
}

/** Stored safe HTML as served, and how many remote images it holds back. */
export interface RenderedHtml {
  html: string;
  blockedImages: number;
}

/** The attributes of one tag of sanitize-html's output: ` name="value"` each, values escaped. */
const ATTRIBUTE = /\s+([^\s="'/>]+)(?:="([^"]*)")?/y;

function unescapeAttribute(value: string): string {
  return value.replace(/&(quot|lt|gt|amp);/g, (_, e: string) => ({ quot: '"', lt: '<', gt: '>', amp: '&' })[e]!);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Stored safe HTML (sanitizeMailHtml's output, possibly cut) as one response serves it: `cid:`
 * images pointed at `cidUrl`, remote images restored or counted as blocked. Only `<img>` tags are
 * touched, read attribute by attribute from the sanitizer's canonical serialisation (every value
 * double-quoted with `"` `<` `>` escaped, so no value holds a tag or an attribute).
 */
export function renderSafeHtml(stored: string, options: RenderOptions = {}): RenderedHtml {
  let html = stored;
  if (options.cut) {
    const open = html.lastIndexOf('<');
    if (open > html.lastIndexOf('>')) html = html.slice(0, open);
  }
  let blockedImages = 0;
  html = html.replace(/<img\b([^>]*)>/g, (tag: string, rest: string) => {
    const attributes: Array<[string, string | undefined]> = [];
    ATTRIBUTE.lastIndex = 0;
    let m: RegExpExecArray | null;
    let consumed = 0;
    while ((m = ATTRIBUTE.exec(rest)) !== null) {
      attributes.push([m[1], m[2]]);
      consumed = ATTRIBUTE.lastIndex;
    }
    if (rest.slice(consumed).replace(/\s*\/?$/, '') !== '') return ''; // not our serialisation: drop the tag
    const out: string[] = [];
    for (const [name, raw] of attributes) {
      const value = raw === undefined ? undefined : unescapeAttribute(raw);
      if (name === 'data-remote-src' && value !== undefined) {
        if (options.remoteImages && remoteUrl(value)) out.push(` src="${escapeAttribute(remoteUrl(value)!)}"`);
        else {
          blockedImages++;
          out.push(` data-remote-src="${escapeAttribute(value)}"`);
        }
      } else if (name === 'src' && value !== undefined && /^cid:/i.test(value) && options.cidUrl) {
        const url = options.cidUrl(contentIdOf(value));
        out.push(url === null ? ` src="${escapeAttribute(value)}"` : ` src="${escapeAttribute(url)}"`);
      } else out.push(raw === undefined ? ` ${name}` : ` ${name}="${raw}"`);
    }
    return `<img${out.join('')} />`;
  });
  return { html, blockedImages };
}

/** The Content-ID a `cid:` URL names (RFC 2392: percent-encoded, no angle brackets). */
export function contentIdOf(cidUrl: string): string {
  const raw = cidUrl.replace(/^cid:/i, '').replace(/^<|>$/g, '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The Content-IDs the `<img>` tags of stored safe HTML refer to (`cid:`), each once, in order. */
export function cidReferences(stored: string): string[] {
  const found = new Set<string>();
  renderSafeHtml(stored, {
    cidUrl: (id) => {
      found.add(id);
      return null;
    },
  });
  return [...found];
}

/** Stored safe HTML with its `cid:` images renamed (`rename` gives the new Content-ID, or null to keep it). */
export function renameCids(stored: string, rename: (contentId: string) => string | null): string {
  return renderSafeHtml(stored, {
    cidUrl: (id) => {
      const next = rename(id);
      return next === null ? null : `cid:${encodeURIComponent(next).replace(/%40/g, '@')}`;
    },
    remoteImages: false,
  }).html;
}

/** Stored safe HTML as an outgoing mail carries it: remote images shown, `cid:` kept for the inline parts. */
export function mailHtmlOf(stored: string): string {
  return renderSafeHtml(stored, { remoteImages: true }).html;
}

/**
 * The plain-text alternative of an HTML message (html-to-text): wrapped at 78 columns, link targets
 * in brackets unless they are the link's text, images left out. Input bounded like sanitizing.
 */
export function htmlToPlainText(html: string): string {
  return convert(html, {
    wordwrap: 78,
    limits: { maxInputLength: SAFE_HTML_MAX_INPUT },
    selectors: [
      { selector: 'img', format: 'skip' },
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    ],
  }).trim();
}
