import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../config/config';
import { TemplatesService } from './templates.service';

function service(env: Record<string, string> = {}) {
  return new TemplatesService(loadConfig({ SUPPORT_NAME: 'Acme Help', ...env }));
}

describe('TemplatesService', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-templates-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('renders the created acknowledgement with the request number in the subject', () => {
    const mail = service().render('created', { requestId: 42, subject: 'Printer on fire', customerName: 'Ada' });
    expect(mail.subject).toBe('[#42] We received your request: Printer on fire');
    expect(mail.text).toContain('Hello Ada,');
    expect(mail.text).toContain('request #42');
    expect(mail.text).toContain('Acme Help');
    expect(mail.html).toContain('request #42');
  });

  it('names the operator in the assigned mail and says closed in the closed mail', () => {
    const s = service();
    expect(s.render('assigned', { requestId: 7, subject: 'VPN', operatorName: 'Grace' }).text).toContain(
      'handled by Grace',
    );
    expect(s.render('closed', { requestId: 7, subject: 'VPN' }).subject).toBe('[#7] Your request has been closed: VPN');
  });

  it('escapes values in the HTML but not in the text', () => {
    const mail = service().render('created', { requestId: 1, subject: '<b>"x" & y</b>', customerName: "O'Hara" });
    expect(mail.html).toContain('&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;');
    expect(mail.html).toContain('O&#39;Hara');
    expect(mail.html).not.toContain('<b>"x"');
    expect(mail.text).toContain('<b>"x" & y</b>');
  });

  it('keeps a subject on one line when the value holds a line break', () => {
    expect(service().render('created', { requestId: 3, subject: 'a\r\nBcc: x@evil.test' }).subject).toBe(
      '[#3] We received your request: a Bcc: x@evil.test',
    );
  });

  it('uses friendly defaults for missing names and subject', () => {
    const mail = service().render('assigned', { requestId: 5, subject: '  ', customerName: null });
    expect(mail.text).toContain('Hello there,');
    expect(mail.text).toContain('our support team');
    expect(mail.subject).toBe('[#5] Your request is being handled: (no subject)');
  });

  it('takes a file from TEMPLATES_DIR and falls back to the defaults for the others', () => {
    fs.writeFileSync(path.join(dir, 'created.subject.txt'), 'Ticket {{ requestId }} opened – {{subject}}\n');
    fs.writeFileSync(path.join(dir, 'closed.html'), '<p>Bye {{customerName}}</p>');
    const s = service({ TEMPLATES_DIR: dir });
    const created = s.render('created', { requestId: 9, subject: 'Hi' });
    expect(created.subject).toBe('Ticket 9 opened – Hi');
    expect(created.text).toContain('request #9');
    expect(s.render('closed', { requestId: 9, subject: 'Hi', customerName: '<Ann>' }).html).toBe(
      '<p>Bye &lt;Ann&gt;</p>',
    );
  });

  it('refuses at start a template with an unknown placeholder', () => {
    fs.writeFileSync(path.join(dir, 'assigned.text.txt'), 'Hi {{firstName}}');
    expect(() => service({ TEMPLATES_DIR: dir })).toThrow(/unknown placeholder \{\{firstName\}\}/);
  });

  it('puts the rating links in the closing mail: one a line in text, escaped links in HTML', () => {
    const links = [1, 2, 3, 4, 5].map((rating) => ({ rating, url: `https://desk.test/feedback/9.${rating}.1&x<` }));
    const mail = service().render('closed', { requestId: 9, subject: 'Done', ratingLinks: links });
    expect(mail.text).toContain('1 (poor): https://desk.test/feedback/9.1.1&x<\n2 (fair): ');
    expect(mail.text).toContain('5 (excellent): https://desk.test/feedback/9.5.1&x<');
    expect(mail.html).toContain('<a href="https://desk.test/feedback/9.5.1&amp;x&lt;">5 &ndash; excellent</a>');
    expect(mail.html).not.toContain('{{ratingLinks}}');
  });

  it('refuses a TEMPLATES_DIR that does not exist', () => {
    expect(() => service({ TEMPLATES_DIR: path.join(dir, 'missing') })).toThrow(/is not a directory/);
  });

  it("writes in the customer's language: ru ships, pt-BR falls back to pt, others and none to English", () => {
    const s = service();
    const ru = s.render('created', { requestId: 42, subject: 'Принтер', customerName: 'Анна', locale: 'ru' });
    expect(ru.subject).toBe('[#42] Ваше обращение принято: Принтер');
    expect(ru.text).toContain('Здравствуйте, Анна!');
    expect(ru.text).toContain('номером 42');
    expect(ru.html).toContain('&laquo;Принтер&raquo;');
    expect(s.render('created', { requestId: 1, subject: 'x', locale: 'ru-RU' }).subject).toContain('принято');
    for (const locale of ['de', 'en', 'en-GB', null, undefined]) {
      expect(s.render('created', { requestId: 1, subject: 'x', locale }).subject).toBe(
        '[#1] We received your request: x',
      );
    }
    expect(s.locales()).toEqual(['ru']);
  });

  it('fills the words of its own in the language too (names, ratings)', () => {
    const links = [1, 5].map((rating) => ({ rating, url: `https://desk.test/f/${rating}` }));
    const mail = service().render('closed', { requestId: 9, subject: 'x', ratingLinks: links, locale: 'ru' });
    expect(mail.text).toContain('5 (отлично): https://desk.test/f/5');
    expect(mail.html).toContain('1 &ndash; плохо</a>');
    expect(service().render('assigned', { requestId: 9, subject: 'x', locale: 'ru' }).text).toContain(
      'занимается наша служба поддержки',
    );
  });

  it('adds a language from TEMPLATES_DIR, tag by tag: <event>.<locale>, then <event>.<language>, then the default', () => {
    fs.writeFileSync(path.join(dir, 'created.pt.subject.txt'), '[#{{requestId}}] Recebemos o seu pedido\n');
    fs.writeFileSync(path.join(dir, 'created.pt-BR.subject.txt'), '[#{{requestId}}] Recebemos sua solicitação\n');
    fs.writeFileSync(path.join(dir, 'created.ru.subject.txt'), 'Заявка {{requestId}}\n');
    fs.writeFileSync(path.join(dir, 'created.xx-yy_zz.html'), 'not a template: ignored');
    const s = service({ TEMPLATES_DIR: dir });
    expect(s.render('created', { requestId: 3, subject: 'x', locale: 'pt-br' }).subject).toBe(
      '[#3] Recebemos sua solicitação',
    );
    expect(s.render('created', { requestId: 3, subject: 'x', locale: 'pt-PT' }).subject).toBe(
      '[#3] Recebemos o seu pedido',
    );
    // A part the language lacks comes from the default.
    expect(s.render('created', { requestId: 3, subject: 'x', locale: 'pt' }).text).toContain('Hello there,');
    // TEMPLATES_DIR replaces a shipped translation.
    expect(s.render('created', { requestId: 3, subject: 'x', locale: 'ru' }).subject).toBe('Заявка 3');
    expect(s.locales()).toEqual(['pt', 'pt-br', 'ru']);
  });

  it('refuses at start a translation with an unknown placeholder', () => {
    fs.writeFileSync(path.join(dir, 'closed.de.text.txt'), 'Hallo {{vorname}}');
    expect(() => service({ TEMPLATES_DIR: dir })).toThrow(/closed\.de\.text\.txt: unknown placeholder/);
  });
});
