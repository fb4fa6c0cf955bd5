import { ConfigError, loadConfig } from '../../config/config';

describe('the listeners configuration', () => {
  it('is off by default, with the documented limits', () => {
    expect(loadConfig({}).listeners).toEqual({
      smtp: undefined,
      lmtp: undefined,
      tls: undefined,
      maxConnections: 100,
      maxConnectionsPerIp: 10,
      maxRecipients: 100,
      socketTimeoutMs: 120_000,
    });
  });

  it('reads host:port, IPv6 in brackets, port 0 for any free port', () => {
    const c = loadConfig({ SMTP_LISTEN: '0.0.0.0:25', LMTP_LISTEN: '[::1]:0' });
    expect(c.listeners.smtp).toEqual({ host: '0.0.0.0', port: 25 });
    expect(c.listeners.lmtp).toEqual({ host: '::1', port: 0 });
  });

  it('refuses what is not host:port', () => {
    for (const bad of ['25', 'localhost', 'localhost:70000', 'a b:25', '::1:25', 'host:-1']) {
      expect(() => loadConfig({ SMTP_LISTEN: bad })).toThrow(ConfigError);
    }
  });

  it('takes the TLS certificate and key together only', () => {
    expect(loadConfig({ SMTP_TLS_CERT: '/c.pem', SMTP_TLS_KEY: '/k.pem' }).listeners.tls).toEqual({
      certFile: '/c.pem',
      keyFile: '/k.pem',
    });
    expect(() => loadConfig({ SMTP_TLS_CERT: '/c.pem' })).toThrow(/SMTP_TLS_CERT and SMTP_TLS_KEY/);
  });
});
