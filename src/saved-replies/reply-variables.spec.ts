import { renderReply, unknownVariables } from './reply-variables';

const CONTEXT = {
  customerName: 'Ann <b>Lee</b>',
  customerEmail: 'ann@example.com',
  requestId: 42,
  requestSubject: 'Printer',
  operatorName: 'Grace',
};

describe('saved reply variables', () => {
  it('fills every variable in, spaces inside the braces allowed, as plain text (no escaping here)', () => {
    expect(
      renderReply(
        'Hello {{customer.name}} ({{ customer.email }}), #{{request.id}} "{{request.subject}}" - {{operator.name}}',
        CONTEXT,
      ),
    ).toBe('Hello Ann <b>Lee</b> (ann@example.com), #42 "Printer" - Grace');
  });

  it('says "there" for a customer without a name and "(no subject)" for a request without one', () => {
    expect(
      renderReply('Hello {{customer.name}}: {{request.subject}}', {
        ...CONTEXT,
        customerName: ' ',
        requestSubject: '',
      }),
    ).toBe('Hello there: (no subject)');
  });

  it('leaves a placeholder that is not a variable as written, and does not fill values in twice', () => {
    expect(renderReply('{{customer.phone}} {{customer.name}}', { ...CONTEXT, customerName: '{{request.id}}' })).toBe(
      '{{customer.phone}} {{request.id}}',
    );
  });

  it('lists the unknown placeholders once each', () => {
    expect(unknownVariables('{{customer.name}} {{customer.phone}} {{ x }} {{customer.phone}} {not}')).toEqual([
      'customer.phone',
      'x',
    ]);
    expect(unknownVariables('Hello {{customer.name}}')).toEqual([]);
  });
});
