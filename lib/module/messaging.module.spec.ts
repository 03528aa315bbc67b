import { Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { LoggingMessenger } from '../messengers/logging/logging.messenger.js';
import { Messenger } from '../kernel/messenger.interface.js';
import { CapturingMessenger } from '../testing/capturing.messenger.js';
import type { Message } from '../kernel/message.interface.js';
import { MessageQueue } from '../request/message-queue.service.js';
import type { MessagingModuleOptions } from './messaging-options.interface.js';
import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import { MessagingInterceptor } from '../request/messaging.interceptor.js';
import { MessagingModule } from './messaging.module.js';

const BUS_NAME = Symbol('BUS_NAME');

@Module({ providers: [{ provide: BUS_NAME, useValue: 'bus-1' }], exports: [BUS_NAME] })
class BusConfigModule {}

/** A messenger with a dependency and lifecycle hooks, as broker messengers have. */
@Injectable()
class NamedMessenger implements Messenger, OnModuleInit, OnApplicationShutdown {
  readonly events: string[] = [];
  constructor(@Inject(BUS_NAME) readonly name: string) {}
  onModuleInit(): void {
    this.events.push('init');
  }
  onApplicationShutdown(): void {
    this.events.push('shutdown');
  }
  send(_messages: readonly Message[]): Promise<void> {
    return Promise.resolve();
  }
}

@Injectable()
class OptionsFactory {
  createMessagingOptions(): MessagingModuleOptions {
    return { messenger: LoggingMessenger, enrich: false };
  }
}

@Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
class OptionsFactoryModule {}

async function compile(imports: Parameters<typeof Test.createTestingModule>[0]['imports']) {
  return Test.createTestingModule({ imports }).compile();
}

describe('MessagingModule wiring', () => {
  it('forRoot() with no options: LoggingMessenger and the queue', async () => {
    const moduleRef = await compile([MessagingModule.forRoot()]);
    expect(moduleRef.get(Messenger)).toBeInstanceOf(LoggingMessenger);
    expect(moduleRef.get(MessageQueue)).toBeInstanceOf(MessageQueue);
    await moduleRef.close();
  });

  it('registers the interceptor as APP_INTERCEPTOR', () => {
    const providers = Reflect.getMetadata('providers', MessagingModule) as { provide?: unknown; useClass?: unknown }[];
    expect(providers).toContainEqual({ provide: APP_INTERCEPTOR, useClass: MessagingInterceptor });
  });

  it('forRootAsync() with a messenger class: built by injection, lifecycle hooks called once each', async () => {
    // A messenger class's dependencies must be visible to MessagingModule: global, or imported here.
    const moduleRef = await compile([
      MessagingModule.forRootAsync({ imports: [BusConfigModule], useFactory: () => ({ messenger: NamedMessenger }) }),
    ]);
    const app = moduleRef.createNestApplication();
    await app.init();
    const messenger = app.get<NamedMessenger>(Messenger);
    expect(messenger).toBeInstanceOf(NamedMessenger);
    expect(messenger.name).toBe('bus-1');
    await app.close();
    expect(messenger.events).toEqual(['init', 'shutdown']);
  });

  it('forRoot() with a messenger factory and inject', async () => {
    const moduleRef = await compile([
      BusConfigModule,
      MessagingModule.forRoot({
        messenger: { useFactory: (name: string) => new NamedMessenger(`${name}-from-factory`), inject: [BUS_NAME] },
      }),
    ]);
    expect(moduleRef.get<NamedMessenger>(Messenger).name).toBe('bus-1-from-factory');
  });

  it('forRoot() with a messenger instance', async () => {
    const capture = new CapturingMessenger();
    const moduleRef = await compile([MessagingModule.forRoot({ messenger: capture })]);
    expect(moduleRef.get(Messenger)).toBe(capture);
  });

  it('forRootAsync() with useFactory, imports and inject', async () => {
    const moduleRef = await compile([
      MessagingModule.forRootAsync({
        imports: [BusConfigModule],
        inject: [BUS_NAME],
        useFactory: (name: string): MessagingModuleOptions => ({
          messenger: { useFactory: () => new NamedMessenger(name) },
        }),
      }),
    ]);
    expect(moduleRef.get<NamedMessenger>(Messenger).name).toBe('bus-1');
  });

  it('forRootAsync() with useClass', async () => {
    const moduleRef = await compile([MessagingModule.forRootAsync({ useClass: OptionsFactory })]);
    expect(moduleRef.get(Messenger)).toBeInstanceOf(LoggingMessenger);
  });

  it('forRootAsync() with useExisting', async () => {
    const moduleRef = await compile([
      MessagingModule.forRootAsync({ imports: [OptionsFactoryModule], useExisting: OptionsFactory }),
    ]);
    expect(moduleRef.get(Messenger)).toBeInstanceOf(LoggingMessenger);
  });

  it('is global by default, and not with isGlobal: false', () => {
    expect(MessagingModule.forRoot().global).toBe(true);
    expect(MessagingModule.forRoot({ isGlobal: false }).global).toBe(false);
    expect(MessagingModule.forRootAsync({ useFactory: () => ({}) }).global).toBe(true);
  });

  it('fails at start-up with every invalid option listed, for forRoot and forRootAsync', async () => {
    const bad = { enrich: 'yes', commentHeader: '' } as unknown as MessagingModuleOptions;
    const expected = 'enrich: expected a function (context) => fields, or false, got "yes"';
    await expect(compile([MessagingModule.forRoot(bad)])).rejects.toThrow(MessagingOptionsError);
    await expect(compile([MessagingModule.forRoot(bad)])).rejects.toThrow(expected);
    await expect(compile([MessagingModule.forRootAsync({ useFactory: () => bad })])).rejects.toThrow(
      'commentHeader: expected an HTTP header name, got ""',
    );
  });
});
