import { baseSubject, NO_SUBJECT, subjectOrNone } from './subject';

describe('subjectOrNone', () => {
  it('trims a subject and stands NO_SUBJECT for an empty one', () => {
    expect(subjectOrNone('  Printer broken ')).toBe('Printer broken');
    for (const empty of ['', '   ', null, undefined]) expect(subjectOrNone(empty)).toBe(NO_SUBJECT);
    expect(NO_SUBJECT).toBe('(no subject)');
  });
});

describe('baseSubject', () => {
  it('drops reply and forward prefixes and our request tokens', () => {
    expect(baseSubject('Re: [#12] AW: Fwd: Invoice wrong')).toBe('Invoice wrong');
    expect(baseSubject('Also: [#3]  printer')).toBe('Also: printer');
  });

  it.each([
    ['Re: Printer', 'Printer'],
    ['RE: Fwd: AW: SV: Printer', 'Printer'],
    ['Re[2]: Printer', 'Printer'],
    ['[#12] Re: Printer  on   fire', 'Printer on fire'],
    ['Re: [#12] Re: Printer', 'Printer'],
    ['Printer: Re: jam', 'Printer: Re: jam'],
    ['', ''],
  ])('baseSubject(%j) is %j', (subject, base) => {
    expect(baseSubject(subject)).toBe(base);
  });
});
