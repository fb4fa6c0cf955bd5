import * as iconv from 'iconv-lite';
import { decodeHeaderText, rewriteEncodedWords } from './encoded-words';
import { MAX_ENCODED_WORDS_PER_HEADER } from './limits';

const b64 = (text: string, charset: string): string => iconv.encode(text, charset).toString('base64');

describe('encoded words', () => {
  it('decodes UTF-7 words', () => {
    expect(decodeHeaderText('=?utf-7?Q?Die_Hasen_und_die_Fr+APY-sche?=')).toBe('Die Hasen und die Frösche');
  });

  it('decodes raw 8-bit bytes inside a Q word in the declared charset', () => {
    expect(decodeHeaderText('=?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=')).toBe('Die Hasen und die Frösche');
  });

  it('reads UTF-8 mislabelled as Latin-1 as UTF-8', () => {
    expect(decodeHeaderText('=?iso-8859-1?Q?Fr=C3=B6sche?=')).toBe('Frösche');
  });

  it('reads Windows-1252 quotes in a Latin-1 word', () => {
    expect(decodeHeaderText('=?iso-8859-1?Q?=93Hello=94?=')).toBe('“Hello”');
  });

  it('detects the charset of a word with an unknown label', () => {
    expect(decodeHeaderText(`=?x-unknown?B?${b64('Проблема с доступом к почте', 'koi8-r')}?=`)).toBe(
      'Проблема с доступом к почте',
    );
  });

  it('joins a multibyte character split across adjacent words', () => {
    const bytes = iconv.encode('关于发票', 'gb2312');
    const words = `=?gb2312?B?${bytes.subarray(0, 3).toString('base64')}?= =?gb2312?B?${bytes.subarray(3).toString('base64')}?=`;
    expect(decodeHeaderText(words)).toBe('关于发票');
  });

  it('rewrites words mailparser would misread into UTF-8 words and leaves the rest', () => {
    const header = 'Subject: =?utf-7?Q?Fr+APY-sche?= and more\r\nTo: =?utf-8?Q?J=C3=BCrgen?= <j@example.com>\r\n';
    const rewritten = rewriteEncodedWords(header);
    expect(rewritten).toBe(
      `Subject: =?UTF-8?B?${Buffer.from('Frösche').toString('base64')}?= and more\r\nTo: =?utf-8?Q?J=C3=BCrgen?= <j@example.com>\r\n`,
    );
    expect(rewriteEncodedWords('Subject: =?utf-8?Q?ok?=\r\n')).toBeNull();
  });

  it(`decodes ${MAX_ENCODED_WORDS_PER_HEADER} words of a value and keeps the next as raw text`, () => {
    const words = Array.from({ length: MAX_ENCODED_WORDS_PER_HEADER + 1 }, () => '=?iso-8859-1?Q?=E9?=');
    expect(decodeHeaderText(words.join(' '))).toBe('é'.repeat(MAX_ENCODED_WORDS_PER_HEADER) + ' =?iso-8859-1?Q?=E9?=');
  });

  it(`rewrites ${MAX_ENCODED_WORDS_PER_HEADER} words per field, counting each field of a block anew`, () => {
    const words = Array.from({ length: MAX_ENCODED_WORDS_PER_HEADER + 1 }, () => '=?koi8-r?Q?=F0?=').join(' ');
    const out = rewriteEncodedWords(`Subject: ${words}\r\nTo: =?koi8-r?Q?=F0?= <p@example.com>\r\n`)!;
    const [subject, to] = out.split('\r\n');
    expect(subject).toBe(
      `Subject: =?UTF-8?B?${Buffer.from('П'.repeat(MAX_ENCODED_WORDS_PER_HEADER)).toString('base64')}?= =?koi8-r?Q?=F0?=`,
    );
    expect(to).toBe(`To: =?UTF-8?B?${Buffer.from('П').toString('base64')}?= <p@example.com>`);
  });
});
