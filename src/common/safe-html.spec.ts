import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from 'htmlparser2';
import { parseMail } from '../inbound-mail/parser/parse-mail';
import {
  CUT_NOTICE,
  SAFE_HTML_MAX_INPUT,
  cidReferences,
  htmlToPlainText,
  mailHtmlOf,
  renameCids,
  renderSafeHtml,
  sanitizeMailHtml,
} from './safe-html';

const VECTORS: string[] = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/xss/owasp-vectors.json'), 'utf8'),
) as string[];

const FORBIDDEN_TAGS = new Set([
  'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'input', 'button', 'select',
  'textarea', 'meta', 'base', 'link', 'style', 'svg', 'math', 'body', 'html', 'head', 'title', 'xml', 'bgsound',
  'isindex', 'keygen', 'video', 'audio', 'source', 'details', 'marquee', 'noscript', 'xmp', 'template',
]); // prettier-ignore

/** Every element of `html` as parsed by a browser-like tokenizer: tag name and attributes (decoded). */
function elementsOf(html: string): Array<{ name: string; attribs: Record<string, string> }> {
  const found: Array<{ name: string; attribs: Record<string, string> }> = [];
  const parser = new Parser(
    { onopentag: (name, attribs) => found.push({ name, attribs }) },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return found;
}

/** What a browser would take a URL's scheme to be: control characters and whitespace removed, lower case. */
function schemeOf(value: string): string {
  // eslint-disable-next-line no-control-regex
  const v = value.replace(/[\u0000-\u0020\u007f-\u009f]+/g, '').toLowerCase();
  const m = /^([a-z][a-z0-9+.-]*):/.exec(v);
  return m ? m[1] : '';
}

/** The reasons `html` (sanitized output) is unsafe; empty when it is safe. */
function problemsOf(html: string): string[] {
  const problems: string[] = [];
  for (const { name, attribs } of elementsOf(html)) {
    if (FORBIDDEN_TAGS.has(name) || name.includes(':')) problems.push(`element <${name}>`);
    for (const [attr, value] of Object.entries(attribs)) {
      if (/^on/i.test(attr)) problems.push(`<${name} ${attr}>`);
      if (['srcset', 'background', 'dynsrc', 'lowsrc', 'formaction', 'action', 'data', 'xlink:href'].includes(attr))
        problems.push(`<${name} ${attr}>`);
      const scheme = schemeOf(value);
      if (['javascript', 'vbscript', 'livescript'].includes(scheme)) problems.push(`<${name} ${attr}=${scheme}:>`);
      if (
        scheme === 'data' &&
        !(name === 'img' && attr === 'src' && /^data:image\/(png|jpeg|gif|webp);base64,/i.test(value))
      )
        problems.push(`<${name} ${attr}=data:>`);
      if (attr === 'style' && /expression|url\s*\(|behavior|binding|position|\\/i.test(value))
        problems.push(`<${name} style="${value}">`);
      if ((attr === 'href' || attr === 'src') && !/^(https?|mailto|cid|data):|^#|^\/attachments\/\d+$/i.test(value))
        problems.push(`<${name} ${attr}="${value}"> (relative or unknown scheme)`);
      if (['id', 'name', 'class'].includes(attr)) problems.push(`<${name} ${attr}> (DOM clobbering)`);
    }
    if (name === 'a' && attribs.href && !attribs.href.startsWith('#')) {
      if (attribs.rel !== 'noopener noreferrer nofollow' || attribs.target !== '_blank')
        problems.push(`<a> without rel/target: ${JSON.stringify(attribs)}`);
    }
  }
  return problems;
}

describe('safe-html: the mail HTML allow-list', () => {
  it(`OWASP XSS filter-evasion vectors (${VECTORS.length}) come out without script, handlers or dangerous URLs`, () => {
    expect(VECTORS.length).toBeGreaterThanOrEqual(80);
    const failures: Array<{ vector: string; output: string; problems: string[] }> = [];
    for (const vector of VECTORS) {
      const output = sanitizeMailHtml(vector);
      // Served both ways: blocked and with remote images shown.
      for (const served of [renderSafeHtml(output).html, renderSafeHtml(output, { remoteImages: true }).html]) {
        const problems = problemsOf(served);
        if (problems.length) failures.push({ vector, output: served, problems });
      }
    }
    expect(failures).toEqual([]);
  });

  it('sanitizing its own output is safe too, and data-remote-src in the input is not trusted', () => {
    for (const vector of VECTORS) expect(problemsOf(sanitizeMailHtml(sanitizeMailHtml(vector)))).toEqual([]);
    expect(sanitizeMailHtml('<img data-remote-src="javascript:alert(1)"><p>x</p>')).toBe('<p>x</p>');
  });

  it('keeps mail formatting: paragraphs, tables with spans, lists, safe inline styles, links with rel', () => {
    const out = sanitizeMailHtml(
      '<html><head><title>T</title><style>p{color:red}</style></head><body>' +
        '<p style="color: #333; font-family: Arial; position: absolute; background-image: url(http://x/y.png)">Hello <b>Jane</b></p>' +
        '<table border="0" cellpadding="4"><tr><th colspan="2">Order</th></tr><tr><td rowspan="2" bgcolor="#eee">1</td><td>Toner</td></tr></table>' +
        '<ul><li>one</li></ul><blockquote>quoted</blockquote><a href="https://example.com/x">site</a></body></html>',
    );
    expect(out).toContain('<p style="color:#333;font-family:Arial">Hello <b>Jane</b></p>');
    expect(out).toContain('<th colspan="2">Order</th>');
    expect(out).toContain('<td rowspan="2" bgcolor="#eee">1</td>');
    expect(out).toContain('<ul><li>one</li></ul><blockquote>quoted</blockquote>');
    expect(out).toContain(
      '<a href="https://example.com/x" target="_blank" rel="noopener noreferrer nofollow">site</a>',
    );
    expect(out).not.toMatch(/<title|<style|p\{color/);
  });

  it('holds remote images back in data-remote-src, keeps cid: and small raster data: images', () => {
    const out = sanitizeMailHtml(
      '<img src="https://tracker.example/p.gif?u=1&amp;m=2" width="1" height="1" alt="">' +
        '<img src="cid:logo@mail.example" alt="logo"><img src="//cdn.example/a.png">' +
        '<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/svg+xml;base64,PHN2Zz4=">',
    );
    expect(out).toBe(
      '<img alt="" width="1" height="1" data-remote-src="https://tracker.example/p.gif?u=1&amp;m=2" />' +
        '<img alt="logo" src="cid:logo@mail.example" /><img data-remote-src="https://cdn.example/a.png" />' +
        '<img src="data:image/png;base64,iVBORw0KGgo=" />',
    );
    const blocked = renderSafeHtml(out, { cidUrl: (id) => (id === 'logo@mail.example' ? '/attachments/7' : null) });
    expect(blocked.blockedImages).toBe(2);
    expect(blocked.html).toContain('<img alt="logo" src="/attachments/7" />');
    expect(blocked.html).not.toMatch(/ src="https:/);
    const shown = renderSafeHtml(out, { remoteImages: true });
    expect(shown.blockedImages).toBe(0);
    expect(shown.html).toContain('<img alt="" width="1" height="1" src="https://tracker.example/p.gif?u=1&amp;m=2" />');
    expect(shown.html).toContain('src="cid:logo@mail.example"');
    expect(mailHtmlOf(out)).toBe(shown.html);
  });

  it('an attribute value that looks like data-remote-src is not taken for one', () => {
    const out = sanitizeMailHtml('<img alt=\'x" data-remote-src="javascript:alert(1)\' src="cid:a@b">');
    const shown = renderSafeHtml(out, { remoteImages: true, cidUrl: () => '/attachments/1' });
    expect(problemsOf(shown.html)).toEqual([]);
    expect(elementsOf(shown.html)[0].attribs.src).toBe('/attachments/1');
  });

  it('a page cut inside a tag drops the unfinished tag', () => {
    const out = sanitizeMailHtml('<p>hi</p><img src="https://t.example/p.gif">');
    const cut = out.slice(0, out.length - 10);
    expect(renderSafeHtml(cut, { cut: true }).html).toBe('<p>hi</p>');
  });

  it('cuts HTML over the input bound and says so', () => {
    const big = `<div>${'<p>line of text</p>'.repeat(SAFE_HTML_MAX_INPUT / 10)}</div>`;
    const started = Date.now();
    const out = sanitizeMailHtml(big);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(out.endsWith(CUT_NOTICE)).toBe(true);
    expect(out.length).toBeLessThan(SAFE_HTML_MAX_INPUT + 1000);
  });

  it('cid references and renaming', () => {
    const out = sanitizeMailHtml('<img src="cid:chart%20one.png"><img src="cid:logo.png"><img src="cid:logo.png">');
    expect(cidReferences(out)).toEqual(['chart one.png', 'logo.png']);
    expect(renameCids(out, (id) => (id === 'logo.png' ? 'abc@maildesk' : null))).toBe(
      '<img src="cid:chart%20one.png" /><img src="cid:abc@maildesk" /><img src="cid:abc@maildesk" />',
    );
  });

  it('text alternative: paragraphs, links, no images', () => {
    const text = htmlToPlainText(
      '<p>Hello <b>Jane</b>,</p><p>see <a href="https://example.com/kb">the article</a>.</p><img src="cid:x">',
    );
    expect(text).toBe('Hello Jane,\n\nsee the article [https://example.com/kb].');
  });
});

/** The visible words of HTML: its text outside the elements whose content is not shown, a space at each tag. */
function wordsOf(html: string): string[] {
  const hidden = new Set(['script', 'style', 'title', 'head', 'xml', 'noscript', 'textarea', 'option', 'template']);
  let depth = 0;
  let text = '';
  const parser = new Parser(
    {
      onopentag: (name) => {
        if (hidden.has(name)) depth++;
        text += ' ';
      },
      onclosetag: (name) => {
        if (hidden.has(name)) depth--;
        text += ' ';
      },
      ontext: (chunk) => {
        if (depth === 0) text += chunk;
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return text.split(/\s+/).filter(Boolean);
}

describe('safe-html on real mail', () => {
  it('an Outlook mail keeps its text, its table and its inline image; loses script, handlers, styles, the pixel', async () => {
    const mail = await parseMail(readFileSync(join(process.cwd(), 'test/fixtures/html/outlook-inline-image.eml')));
    const out = sanitizeMailHtml(mail.html!);
    expect(problemsOf(out)).toEqual([]);
    expect(wordsOf(out).join(' ')).toContain('Hello support team, The printer on floor 3 shows this error');
    expect(out).toMatch(
      /<table border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse;border:none">\s*<tr><td width="200" valign="top"/,
    );
    expect(out).toContain('HP LaserJet 4250');
    expect(out).toContain('src="cid:image001.png@01DA1234.56789AB0"');
    expect(out).toContain('<a>click here</a>');
    expect(renderSafeHtml(out).blockedImages).toBe(1);
    expect(mail.attachments.map((a) => [a.filename, a.contentId, a.inline])).toEqual([
      ['image001.png', 'image001.png@01DA1234.56789AB0', true],
    ]);
  });

  it('every HTML mail of the corpus comes out safe with all its visible words', async () => {
    const dirs = ['test/corpus/stalwart/rfc', 'test/corpus/stalwart/legacy'];
    let checked = 0;
    for (const dir of dirs) {
      for (const file of readdirSync(join(process.cwd(), dir)).filter((f) => f.endsWith('.eml'))) {
        const mail = await parseMail(readFileSync(join(process.cwd(), dir, file))).catch(() => null);
        if (!mail?.html) continue;
        checked++;
        const out = sanitizeMailHtml(mail.html);
        expect({ file, problems: problemsOf(out) }).toEqual({ file, problems: [] });
        const kept = new Set(wordsOf(out));
        expect({ file, lost: wordsOf(mail.html).filter((w) => !kept.has(w)) }).toEqual({ file, lost: [] });
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});
