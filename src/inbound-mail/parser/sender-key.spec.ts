import { senderKey } from './sender-key';

describe('senderKey', () => {
  it('reads the From address of the header, folded or bare, lower-cased', () => {
    expect(senderKey(Buffer.from('Subject: x\r\nFrom: "Alice" <Alice@Example.com>\r\n\r\nbody'))).toBe(
      'alice@example.com',
    );
    expect(senderKey(Buffer.from('From: Bob\r\n <bob@example.com>\r\n\r\n'))).toBe('bob@example.com');
    expect(senderKey(Buffer.from('From: carol@example.com\n\nbody'))).toBe('carol@example.com');
  });

  it('looks at the header only, and answers empty without a From', () => {
    expect(senderKey(Buffer.from('Subject: x\r\n\r\nFrom: eve@example.com\r\n'))).toBe('');
    expect(senderKey(Buffer.alloc(0))).toBe('');
  });
});
