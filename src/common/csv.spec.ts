import { parseCsv } from '../../test/setup/csv';
import { csvField, csvLine, wantsCsv } from './csv';

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
  ])('writes %j as %j', (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it('writes numbers as they are, negative ones too, and null as nothing', () => {
    expect(csvField(-3)).toBe('-3');
    expect(csvField(42)).toBe('42');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
  });
});

describe('csvLine', () => {
  it('reads back as the values given (formula prefixes aside)', () => {
    const values = ['id', 'a "quoted", text', 'line\r\nbreak', '', '{"json":"x,y"}'];
    const text = csvLine(values) + csvLine(['1', '2', '3', '4', '5']);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parseCsv(text)).toEqual([values, ['1', '2', '3', '4', '5']]);
  });
});

describe('wantsCsv', () => {
  it('follows the Accept header and its q-values', () => {
    expect(wantsCsv(undefined)).toBe(false);
    expect(wantsCsv('application/json')).toBe(false);
    expect(wantsCsv('text/csv')).toBe(true);
    expect(wantsCsv('application/json;q=0.5, text/csv')).toBe(true);
    expect(wantsCsv('text/csv;q=0.1, application/json')).toBe(false);
    expect(wantsCsv('*/*')).toBe(false);
  });
});
