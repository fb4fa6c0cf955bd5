import { mailboxRecord } from '../../test/fakes/mailbox-directory';
import { identityOf, joinSignatures, withSignature } from './mail-identity';

describe('identityOf', () => {
  it("is the mailbox's address and name; the default mailbox is stored as null", () => {
    const billing = mailboxRecord({ id: 2, address: 'billing@desk.test', name: 'Billing', signature: 'Acme Billing' });
    expect(identityOf(billing)).toEqual({
      mailboxId: 2,
      address: 'billing@desk.test',
      name: 'Billing',
      signature: 'Acme Billing',
    });
    const support = mailboxRecord({ id: 1, address: 'support@desk.test', isDefault: true, signature: '  ' });
    expect(identityOf(support)).toMatchObject({ mailboxId: null, signature: null });
  });
});

describe('withSignature', () => {
  it('appends the signature after "-- " in the text and escaped in the HTML, before </body>', () => {
    const signed = withSignature('Fixed.\n\n', '<html><body><p>Fixed.</p></body></html>', 'Acme <Billing>\r\nCall us');
    expect(signed.text).toBe('Fixed.\n\n-- \nAcme <Billing>\nCall us\n');
    expect(signed.html).toBe(
      '<html><body><p>Fixed.</p><div class="signature">--<br>Acme &lt;Billing&gt;<br>Call us</div></body></html>',
    );
  });

  it('leaves a mail without a signature, and an HTML-less mail without HTML', () => {
    expect(withSignature('Hi', '<p>Hi</p>', null)).toEqual({ text: 'Hi', html: '<p>Hi</p>' });
    expect(withSignature('Hi', null, 'Sig')).toEqual({ text: 'Hi\n\n-- \nSig\n', html: null });
  });
});

describe('joinSignatures', () => {
  it("puts the operator's signature before the mailbox's, a blank line between, either may be missing", () => {
    expect(joinSignatures(' Grace\r\nBilling ', 'ACME Support')).toBe('Grace\nBilling\n\nACME Support');
    expect(joinSignatures(null, 'ACME Support')).toBe('ACME Support');
    expect(joinSignatures('Grace', null)).toBe('Grace');
    expect(joinSignatures('  ', null)).toBeNull();
  });
});
