import { loadQuoteSet, type QuoteCase, scoreQuoteSet } from '../../../test/setup/quote-set';
import { MAX_VISIBLE_LINES, visibleText } from './visible-text';

/** What the app shows for a case: the new text, or the whole text when visibleText is null. */
const shown = (c: QuoteCase): string => visibleText(c.text, c.html) ?? c.text;

describe('visibleText', () => {
  let cases: QuoteCase[];
  beforeAll(async () => {
    cases = await loadQuoteSet();
  });
  const byName = (name: string): QuoteCase => {
    const c = cases.find((x) => x.name === name);
    if (!c) throw new Error(`no case ${name}`);
    return c;
  };

  it('keeps its measured accuracy on the labelled set (bench: 96.5 % exact, F1 0.982, 1 lost)', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    const score = scoreQuoteSet(cases, shown);
    expect(score.exact).toBeGreaterThanOrEqual(0.93);
    expect(score.f1).toBeGreaterThanOrEqual(0.96);
    expect(score.lost).toBeLessThanOrEqual(1);
  });

  it.each([
    ['gmail-en', 'Hi,\n\nthe printer works again, thank you!\n\nAlice'],
    ['gmail-en-split-header', 'Still broken, sorry.'],
    ['outlook-original-message', 'Please see the attached log.\n\nRegards\nCarl'],
    ['outlook-underscore-line', 'Yes, 3rd floor.\n\nDana'],
    ['outlook-ios', 'Ok, will do.'],
    ['apple-mail', 'That fixed it.\n\nFrank'],
    ['iphone', "Thanks, I'll check tomorrow."],
    ['russian-wrote-a', 'Номер заказа 4711.'],
    ['russian-outlook', 'Прикладываю скриншот.'],
    ['german-gmail', 'Hallo,\n\ndas Problem besteht weiterhin.\n\nViele Grüße\nJana'],
    ['german-outlook', 'Anbei die Rechnung.\n\nMit freundlichen Grüßen\nK. Braun'],
    ['sig-dash-dash', 'The VPN drops every 10 minutes since the update.'],
    ['bottom-post', 'No, it did not.'],
    ['html-gmail', 'Thanks, it works.'],
  ])('%s: the new text', (name, expected) => {
    const c = byName(name);
    expect(visibleText(c.text, c.html)).toBe(expected);
    expect(c.text.length).toBeGreaterThan(expected.length);
  });

  it.each(['no-quote-plain', 'inline-answers', 'planer-inline-replies', 'whole-mail-is-quote', 'on-in-sentence'])(
    '%s: null (the whole text is the new text; a mail that is all quote shows whole, never empty)',
    (name) => {
      const c = byName(name);
      expect(visibleText(c.text, c.html)).toBeNull();
    },
  );

  it('is null for empty text', () => {
    expect(visibleText('')).toBeNull();
    expect(visibleText('  \n ')).toBeNull();
  });

  it('cuts a quote near the top of a mail longer than it looks at', () => {
    const text = `Ok.\n\nOn Mon, Dec 7, 2026 at 10:02 AM Bob <b@x.test> wrote:\n${'> old\n'.repeat(MAX_VISIBLE_LINES * 3)}`;
    expect(visibleText(text)).toBe('Ok.');
  });

  it('leaves a mail longer than it looks at whole when the quote is in the middle of the part looked at', () => {
    const quote = `On Mon, Dec 7, 2026 at 10:02 AM Bob <b@x.test> wrote:\n> a\n> b\n`;
    const text = `Answer.\n${quote}${'new line\n'.repeat(MAX_VISIBLE_LINES * 2)}`;
    expect(visibleText(text)).toBeNull();
  });

  describe('hostile input finishes in bounded time', () => {
    const MB = 1024 * 1024;
    it.each<[string, () => string]>([
      ['one 1 MB line of ">"', () => '>'.repeat(MB)],
      ['one 1 MB line of "Am "', () => 'Am '.repeat(MB / 3)],
      ['1 MB of "On ," lines', () => `${'On ,'.repeat(60)}\n`.repeat(4400)],
      ['lines of "Am ... schrieb"', () => `${'Am '.repeat(60)}schrieb x\n`.repeat(3000)],
      ['200-char lines of "Am "', () => `${'Am '.repeat(70)}\n`.repeat(5000)],
      ['500 000 lines of ">"', () => '>\n'.repeat(500000)],
      ['quote and text alternating', () => '> q\nt\n'.repeat(300000)],
      ['unclosed links', () => '<http://'.repeat(MB / 8)],
      ['header blocks', () => 'From: a\nSent: b\n'.repeat(100000)],
    ])('%s', (_name, make) => {
      const text = make();
      const started = Date.now();
      const result = visibleText(text);
      // Measured: under 0.1 s each on this machine; generous for a loaded CI.
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result === null || result.length > 0).toBe(true);
    });
  });
});
