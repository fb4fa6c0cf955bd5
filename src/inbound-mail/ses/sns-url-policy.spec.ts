import { snsUrlProblem } from './sns-url-policy';

describe('snsUrlProblem', () => {
  it('trusts https on the Amazon SNS hosts, China regions included', () => {
    expect(snsUrlProblem('https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem')).toBeNull();
    expect(snsUrlProblem('https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem')).toBeNull();
    expect(snsUrlProblem('https://sns.eu-west-1.amazonaws.com:443/?Action=ConfirmSubscription')).toBeNull();
  });

  it.each([
    ['http://sns.us-east-1.amazonaws.com/x.pem', 'not https'],
    ['https://evil.example.com/x.pem', 'host evil.example.com is not an Amazon SNS host'],
    ['https://sns.us-east-1.amazonaws.com.evil.example.com/x.pem', /is not an Amazon SNS host/],
    ['https://evilsns.us-east-1.amazonaws.com/x.pem', /is not an Amazon SNS host/],
    ['https://s3.us-east-1.amazonaws.com/x.pem', /is not an Amazon SNS host/],
    ['https://user:pw@sns.us-east-1.amazonaws.com/x.pem', 'carries credentials'],
    ['https://sns.us-east-1.amazonaws.com:8443/x.pem', 'not on port 443'],
    ['file:///etc/passwd', 'not https'],
    ['not a url', 'not a URL'],
  ])('refuses %s', (url, problem) => {
    expect(snsUrlProblem(url)).toEqual(typeof problem === 'string' ? problem : expect.stringMatching(problem));
  });

  it('trusts a configured prefix exactly, and nothing that merely starts like it', () => {
    const prefixes = ['http://127.0.0.1:8080/sns/'];
    expect(snsUrlProblem('http://127.0.0.1:8080/sns/cert.pem', prefixes)).toBeNull();
    expect(snsUrlProblem('http://127.0.0.1:8080/other/cert.pem', prefixes)).toBe('not https');
    expect(snsUrlProblem('http://127.0.0.1:8080@evil.example.com/sns/cert.pem', prefixes)).toBe('not https');
    expect(snsUrlProblem('http://127.0.0.1:80801/sns/cert.pem', prefixes)).toBe('not a URL');
  });
});
