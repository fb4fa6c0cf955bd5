import { snsUrlProblem, topicRegion } from './sns-url-policy';

const CERT = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';
const CONFIRM =
  'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Token=x';

describe('snsUrlProblem', () => {
  it("trusts SNS's certificate and confirmation URLs on the SNS host of the topic's region, China included", () => {
    expect(snsUrlProblem(CERT, 'certificate', 'us-east-1')).toBeNull();
    expect(snsUrlProblem(CONFIRM, 'subscribe', 'us-east-1')).toBeNull();
    expect(
      snsUrlProblem(
        'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-ab12.pem',
        'certificate',
        'cn-north-1',
      ),
    ).toBeNull();
    expect(topicRegion('arn:aws-cn:sns:cn-north-1:123456789012:t')).toBe('cn-north-1');
    expect(topicRegion('arn:aws:sqs:us-east-1:123456789012:t')).toBeNull();
  });

  it.each([
    [CERT.replace('https:', 'http:'), 'not https'],
    ['https://evil.example.com/SimpleNotificationService-1.pem', 'host evil.example.com is not an Amazon SNS host'],
    ['https://sns.us-east-1.amazonaws.com.evil.example.com/SimpleNotificationService-1.pem', /not an Amazon SNS host/],
    ['https://evilsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem', /not an Amazon SNS host/],
    ['https://s3.us-east-1.amazonaws.com/SimpleNotificationService-1.pem', /not an Amazon SNS host/],
    ['https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem', /not the SNS host of the topic's region/],
    ['https://user:pw@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem', 'carries credentials'],
    ['https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem', 'not on port 443'],
    ['https://sns.us-east-1.amazonaws.com/../other.pem', 'not an SNS certificate URL'],
    ['https://sns.us-east-1.amazonaws.com/?Action=Publish', 'not an SNS certificate URL'],
    ['file:///etc/passwd', 'not https'],
    ['not a url', 'not a URL'],
  ])('refuses the certificate URL %s', (url, problem) => {
    const expected = typeof problem === 'string' ? problem : expect.stringMatching(problem);
    expect(snsUrlProblem(url, 'certificate', 'us-east-1')).toEqual(expected);
  });

  it('refuses a SubscribeURL that does not confirm a subscription', () => {
    expect(snsUrlProblem(CONFIRM.replace('ConfirmSubscription', 'Unsubscribe'), 'subscribe', 'us-east-1')).toBe(
      'not an SNS ConfirmSubscription URL',
    );
    expect(snsUrlProblem(CERT, 'subscribe', 'us-east-1')).toBe('not an SNS subscribe URL');
    expect(snsUrlProblem(CONFIRM, 'subscribe', null)).toMatch(/not the SNS host/);
  });

  it('trusts a configured prefix exactly, and nothing that merely starts like it', () => {
    const prefixes = ['http://127.0.0.1:8080/sns/'];
    expect(snsUrlProblem('http://127.0.0.1:8080/sns/cert.pem', 'certificate', null, prefixes)).toBeNull();
    expect(snsUrlProblem('http://127.0.0.1:8080/other/cert.pem', 'certificate', null, prefixes)).toBe('not https');
    expect(snsUrlProblem('http://127.0.0.1:8080@evil.example.com/sns/c.pem', 'certificate', null, prefixes)).toBe(
      'not https',
    );
    expect(snsUrlProblem('http://127.0.0.1:80801/sns/cert.pem', 'certificate', null, prefixes)).toBe('not a URL');
  });
});
