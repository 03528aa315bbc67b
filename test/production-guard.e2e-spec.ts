import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessagingOptionsError } from '../lib/kernel/messaging.errors.js';
import { MessagingModule } from '../lib/module/messaging.module.js';
import { LoggingMessenger } from '../lib/messengers/logging/logging.messenger.js';
import { MemoryOutboxStore } from '../lib/stores/memory-outbox.store.js';
import { MessagingTestingModule } from '../lib/testing/messaging-testing.module.js';

Logger.overrideLogger(['error']);

// With NODE_ENV=production, the memory outbox (the default) refuses to start unless allowed.
describe('memory outbox production guard', () => {
  const before = process.env.NODE_ENV;
  beforeEach(() => {
    process.env.NODE_ENV = 'production';
  });
  afterEach(() => {
    process.env.NODE_ENV = before;
  });

  it('fails start-up of an application with the default outbox, naming the option and the way out', async () => {
    const start = Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: new LoggingMessenger() })],
    }).compile();
    await expect(start).rejects.toThrow(MessagingOptionsError);
    await expect(start).rejects.toThrow(
      'allowInProduction: NODE_ENV is production, and a MemoryOutboxStore (the default outbox) loses every undelivered message',
    );
  });

  it('starts when allowed explicitly, and MessagingTestingModule starts under any NODE_ENV', async () => {
    const allowed = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger: new LoggingMessenger(),
          outbox: new MemoryOutboxStore({ allowInProduction: true }),
        }),
      ],
    }).compile();
    const app = allowed.createNestApplication();
    await app.init();
    await app.close();
    const testing = await Test.createTestingModule({ imports: [MessagingTestingModule.forRoot()] }).compile();
    await testing.init();
    await testing.close();
  });

  it('refuses a non-boolean allowInProduction, and ignores NODE_ENV other than production', () => {
    expect(() => new MemoryOutboxStore({ allowInProduction: 'yes' as unknown as boolean })).toThrow(
      'allowInProduction: expected true or false, got "yes"',
    );
    process.env.NODE_ENV = 'staging';
    expect(new MemoryOutboxStore().durable).toBe(false);
  });
});
