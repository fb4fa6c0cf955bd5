import { parseSnsMessage, snsCanonicalString } from './sns-message';

const notification = {
  Type: 'Notification',
  MessageId: 'm-1',
  TopicArn: 'arn:aws:sns:us-east-1:123456789012:t',
  Subject: 'Hello',
  Message: '{"a":1}',
  Timestamp: '2026-12-07T09:00:00.000Z',
  SignatureVersion: '2',
  Signature: 'c2ln',
  SigningCertURL: 'https://sns.us-east-1.amazonaws.com/c.pem',
  UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
};

describe('parseSnsMessage and snsCanonicalString', () => {
  it('reads a Notification and signs its fields in the documented order, Subject included', () => {
    const parsed = parseSnsMessage(JSON.stringify(notification));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(snsCanonicalString(parsed.message)).toBe(
      'Message\n{"a":1}\nMessageId\nm-1\nSubject\nHello\nTimestamp\n2026-12-07T09:00:00.000Z\n' +
        'TopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nNotification\n',
    );
  });

  it('leaves out a Notification without a Subject', () => {
    const parsed = parseSnsMessage(JSON.stringify({ ...notification, Subject: undefined }));
    expect(parsed.ok && snsCanonicalString(parsed.message)).not.toContain('Subject');
  });

  it('signs SubscribeURL and Token of a confirmation', () => {
    const parsed = parseSnsMessage(
      JSON.stringify({
        ...notification,
        Type: 'SubscriptionConfirmation',
        Subject: undefined,
        SubscribeURL: 'u',
        Token: 'k',
      }),
    );
    expect(parsed.ok && snsCanonicalString(parsed.message)).toBe(
      'Message\n{"a":1}\nMessageId\nm-1\nSubscribeURL\nu\nTimestamp\n2026-12-07T09:00:00.000Z\nToken\nk\n' +
        'TopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nSubscriptionConfirmation\n',
    );
  });

  it.each([
    ['not json', 'hello', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['an unknown Type', JSON.stringify({ ...notification, Type: 'Other' }), /^Type must be/],
    ['a missing Signature', JSON.stringify({ ...notification, Signature: undefined }), /^Signature must/],
    ['a numeric Message', JSON.stringify({ ...notification, Message: 1 }), /^Message must/],
    [
      'a confirmation without Token',
      JSON.stringify({ ...notification, Type: 'SubscriptionConfirmation', SubscribeURL: 'u' }),
      /^Token must/,
    ],
    ['a huge field', JSON.stringify({ ...notification, MessageId: 'x'.repeat(5000) }), /longer than/],
    ['a Message over 256 KiB', JSON.stringify({ ...notification, Message: 'x'.repeat(256 * 1024 + 1) }), /larger than/],
  ])('refuses %s', (_name, body, problem) => {
    const parsed = parseSnsMessage(body);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem).toMatch(problem);
  });
});
