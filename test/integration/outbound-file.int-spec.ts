import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { simpleParser } from 'mailparser';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import { AppConfigModule } from '../../src/config/config.module';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { OutboundMailModule } from '../../src/outbound-mail/outbound-mail.module';
import { OutboxDispatcher } from '../../src/outbound-mail/outbox.dispatcher';
import { OutboxService } from '../../src/outbound-mail/outbox.service';
import { TemplatesService } from '../../src/outbound-mail/templates.service';
import { createTestDatabase, forEachDatabase, TestDatabase } from '../setup/database';

let db: TestDatabase;
let dataDir: string;
let templatesDir: string;
let moduleRef: TestingModule;
let ds: DataSource;
let outbox: OutboxService;
let templates: TemplatesService;
let outboxDir: string;

function emlFiles(): string[] {
  return fs.existsSync(outboxDir)
    ? fs
        .readdirSync(outboxDir)
        .filter((f) => f.endsWith('.eml'))
        .sort()
    : [];
}

forEachDatabase('outbound mail to files', (kind) => {
  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    db = await createTestDatabase(kind);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-outbound-file-'));
    templatesDir = path.join(dataDir, 'templates');
    fs.mkdirSync(templatesDir);
    fs.writeFileSync(path.join(templatesDir, 'created.subject.txt'), 'Ticket #{{requestId}} opened: {{subject}}\n');
    const config = loadConfig({
      DATA_DIR: dataDir,
      SUPPORT_ADDRESS: 'help@files.test',
      SUPPORT_NAME: 'Files Help',
      TEMPLATES_DIR: templatesDir,
      // A poll far away: what is sent in these tests goes out because enqueue woke the dispatcher.
      OUTBOX_POLL_MS: '600000',
    });
    moduleRef = await Test.createTestingModule({
      imports: [
        AppConfigModule.forRoot(config),
        TypeOrmModule.forRoot(dataSourceOptions(db.url, 4)),
        OutboundMailModule,
      ],
    }).compile();
    moduleRef.useLogger(['error']);
    await moduleRef.init();
    ds = moduleRef.get(DataSource);
    outbox = moduleRef.get(OutboxService);
    templates = moduleRef.get(TemplatesService);
    outboxDir = path.join(dataDir, 'outbox');
  });

  afterAll(async () => {
    await moduleRef?.close();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('outbound mail without SMTP_URL', () => {
    it('writes a committed mail as one complete .eml file within a second of the commit', async () => {
      const rendered = templates.render('created', {
        requestId: 42,
        subject: 'Printer <on fire>',
        customerName: 'Ada',
      });
      const messageId = outbox.newMessageId();
      const started = Date.now();
      const queued = await ds.transaction((m) =>
        outbox.enqueue(m, {
          kind: 'auto_reply',
          to: 'ada@example.test',
          toName: 'Ada',
          ...rendered,
          messageId,
          inReplyTo: 'first@client.test',
          references: ['first@client.test'],
          autoReply: true,
        }),
      );
      const deadline = Date.now() + 3000;
      while (emlFiles().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(Date.now() - started).toBeLessThan(1000);

      const files = emlFiles();
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d-]+Z-${queued.id}\\.eml$`));
      expect(fs.readdirSync(outboxDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      const raw = fs.readFileSync(path.join(outboxDir, files[0]));
      expect(raw.toString('latin1')).toContain('\r\n');
      expect(raw.toString('latin1')).not.toMatch(/[^\r]\n/);

      const p = await simpleParser(raw);
      expect(p.messageId).toBe(`<${messageId}>`);
      expect(p.inReplyTo).toBe('<first@client.test>');
      expect(p.references).toBe('<first@client.test>');
      expect(p.subject).toBe('Ticket #42 opened: Printer <on fire>');
      expect(p.from?.value[0]).toEqual({ address: 'help@files.test', name: 'Files Help' });
      const to = Array.isArray(p.to) ? p.to[0] : p.to;
      expect(to?.value[0]).toEqual({ address: 'ada@example.test', name: 'Ada' });
      expect(p.headers.get('auto-submitted')).toBe('auto-replied');
      expect(p.headers.get('x-auto-response-suppress')).toBe('All');
      expect(p.headers.get('x-loop')).toBe('help@files.test');
      expect(p.date).toBeInstanceOf(Date);
      expect(p.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
      expect(p.text).toContain('request #42');
      expect(p.html).toContain('Printer &lt;on fire&gt;');

      const row = await ds.query(`SELECT status, attempts FROM outbox WHERE id = $1`, [queued.id]);
      expect(row).toEqual([{ status: 'sent', attempts: 1 }]);
    });

    it('writes nothing more when there is nothing due', async () => {
      const before = emlFiles();
      await expect(moduleRef.get(OutboxDispatcher).dispatchOnce()).resolves.toBe(0);
      expect(emlFiles()).toEqual(before);
    });

    it('reports the backlog: pending, due and failed mail', async () => {
      await ds.query(
        `INSERT INTO outbox (kind, to_address, from_address, headers, status, next_attempt_at)
         VALUES ('operator', 'later@example.test', 'help@files.test', '{"Message-ID": "<later@files.test>"}', 'pending', now() + interval '1 hour'),
                ('operator', 'gone@example.test', 'help@files.test', '{"Message-ID": "<gone@files.test>"}', 'failed', now())`,
      );
      await expect(outbox.backlog()).resolves.toEqual({ pending: 1, due: 0, failed: 1, oldestDueAt: null });
    });
  });
});
