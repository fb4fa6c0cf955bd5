import { entryName } from './customer-export.service';

describe('entryName (a file name from outside as one zip entry)', () => {
  it('keeps a plain name', () => {
    expect(entryName('invoice 2026.pdf', 'attachment')).toBe('invoice 2026.pdf');
    expect(entryName('счёт.pdf', 'attachment')).toBe('счёт.pdf');
  });

  it('never makes a path: separators, parent references, control and reserved characters go', () => {
    expect(entryName('../../etc/passwd', 'attachment')).toBe('_.._etc_passwd');
    expect(entryName('/abs\\win:name?.txt', 'attachment')).toBe('_abs_win_name_.txt');
    expect(entryName('a\r\nb\u0000c', 'attachment')).toBe('a_b_c');
    expect(entryName('..', 'attachment')).toBe('attachment');
  });

  it('falls back when nothing is left, and cuts long names', () => {
    expect(entryName('', 'attachment')).toBe('attachment');
    expect(entryName(null, 'attachment')).toBe('attachment');
    expect(entryName('x'.repeat(300), 'attachment')).toHaveLength(100);
  });
});
