import * as iconv from 'iconv-lite';
import { decodeUnknown, detectCharset, resolveCharset } from './charset';

describe('charset detection', () => {
  it.each([
    ['gb2312', '关于发票的问题'],
    ['gb2312', '测试邮件'],
    ['shift_jis', 'お問い合わせについて'],
    ['koi8-r', 'Иван Петров'],
    ['koi8-r', 'Проблема с доступом к почте'],
    ['windows-1251', 'Иван Петров'],
    ['windows-1251', 'Проблема с доступом к почте'],
    ['iso-8859-1', 'Die Hasen und die Frösche'],
    ['iso-8859-2', 'Zażółć gęślą jaźń'],
    ['windows-1252', '“Quoted” café'],
    ['euc-kr', '안녕하세요 문의드립니다'],
    ['iso-8859-7', 'Καλημέρα σας'],
  ])('reads short undeclared %s text as written: %s', (charset, text) => {
    const bytes = iconv.encode(text, charset);
    expect(iconv.decode(bytes, detectCharset(bytes))).toBe(text);
  });

  it('prefers a charset the mail declares elsewhere', () => {
    const bytes = iconv.encode('Grüße', 'iso-8859-15');
    expect(detectCharset(bytes, ['iso-8859-15'])).toBe('iso-8859-15');
  });

  it('reads valid UTF-8 as UTF-8 without detection', () => {
    expect(decodeUnknown(Buffer.from('Grüße 你好', 'utf8'))).toBe('Grüße 你好');
  });

  it('maps mail charset labels to what senders meant', () => {
    expect(resolveCharset('ISO-8859-1')).toBe('windows-1252');
    expect(resolveCharset('"GB2312"')).toBe('gb18030');
    expect(resolveCharset('ks_c_5601-1987')).toBe('cp949');
    expect(resolveCharset('unicode-1-1-utf-7')).toBe('utf-7');
    expect(resolveCharset('x-no-such-charset')).toBeNull();
  });
});
