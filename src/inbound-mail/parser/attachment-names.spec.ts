import { AttachmentNamer, cleanFileName } from './attachment-names';

describe('AttachmentNamer', () => {
  it('makes names from content types and numbers repeats', () => {
    const namer = new AttachmentNamer();
    namer.reserve(['image.png']);
    expect(namer.nameFor('application/pdf', Buffer.alloc(0))).toBe('attachment.pdf');
    expect(namer.nameFor('image/png', Buffer.alloc(0))).toBe('image-2.png');
    expect(namer.nameFor('application/octet-stream', Buffer.alloc(0))).toBe('attachment.bin');
    expect(namer.nameFor('application/x-unknown', Buffer.alloc(0))).toBe('attachment-2.bin');
  });

  it('names an attached mail after its decoded subject', () => {
    const namer = new AttachmentNamer();
    const eml = Buffer.from('From: a@b.c\r\nSubject: =?utf-8?Q?Re:_Caf=C3=A9/Bar?=\r\n\r\nbody');
    expect(namer.nameFor('message/rfc822', eml)).toBe('Re Café Bar.eml');
    expect(namer.nameFor('message/rfc822', Buffer.from('From: a@b.c\r\n\r\nbody'))).toBe('message.eml');
  });

  it('cleans control characters and bounds the length of given names', () => {
    expect(cleanFileName(' re\x00port\t.pdf ')).toBe('report.pdf');
    expect(cleanFileName('a'.repeat(300) + '.pdf')).toHaveLength(200);
  });
});
