import { CharsetHints } from './charset-hints';
import { MAX_CHARSET_HINTS } from './limits';
import { resolveCharset } from './charset';

describe('CharsetHints', () => {
  it('keeps each charset once however it is spelled', () => {
    const hints = new CharsetHints();
    for (const label of ['iso-8859-2', 'ISO_8859-2:1987', 'latin2', 'iso-8859-2:0001', 'koi8-r', 'KOI8-R']) {
      hints.add(resolveCharset(label)!);
    }
    expect(hints.list()).toEqual(['iso-8859-2', 'koi8-r']);
  });

  it('resolves 10,000 labels `iso-8859-1:NNNN` to one charset', () => {
    const hints = new CharsetHints();
    for (let i = 0; i < 10_000; i++) hints.add(resolveCharset(`iso-8859-1:${String(i).padStart(4, '0')}`)!);
    expect(hints.list()).toEqual(['windows-1252']);
  });

  it(`keeps the first ${MAX_CHARSET_HINTS} distinct charsets and drops the next`, () => {
    const labels = [
      'iso-8859-2',
      'iso-8859-5',
      'iso-8859-7',
      'koi8-r',
      'windows-1251',
      'shift_jis',
      'big5',
      'gb18030',
      'euc-jp',
    ];
    expect(labels.length).toBe(MAX_CHARSET_HINTS + 1);
    const hints = new CharsetHints();
    for (const label of labels) hints.add(label);
    expect(hints.list()).toEqual(labels.slice(0, MAX_CHARSET_HINTS));
  });
});
