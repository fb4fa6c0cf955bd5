import { classifySendError } from './send-error';

function smtpError(responseCode: number, response: string, code = 'EMESSAGE') {
  return Object.assign(new Error(`Message failed: ${response}`), { code, responseCode, response });
}

describe('classifySendError', () => {
  it('treats a 550 answer as permanent and keeps the server text', () => {
    const f = classifySendError(smtpError(550, '550 5.1.1 mailbox unavailable', 'EENVELOPE'));
    expect(f).toEqual({ permanent: true, reason: 'EENVELOPE: 550 5.1.1 mailbox unavailable' });
  });

  it('retries a 451 answer', () => {
    expect(classifySendError(smtpError(451, '451 4.3.0 try later')).permanent).toBe(false);
  });

  it('retries a 503 bad-sequence answer', () => {
    expect(classifySendError(smtpError(503, '503 bad sequence')).permanent).toBe(false);
  });

  it('retries an authentication failure', () => {
    expect(classifySendError(smtpError(535, '535 bad credentials', 'EAUTH')).permanent).toBe(false);
  });

  it('retries a refused connection', () => {
    const f = classifySendError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET' }));
    expect(f).toEqual({ permanent: false, reason: 'ESOCKET: connect ECONNREFUSED 127.0.0.1:25' });
  });
});
