import 'reflect-metadata';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  Body,
  Controller,
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  Get,
  Post,
  Query,
  type Type,
} from '@nestjs/common';
import { APP_INTERCEPTOR, ModuleRef, NestFactory } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { httpAdapterFor, httpPlatformFromEnv } from '../sample-app/http-platform.js';

/** What the benchmark compares; see run-benchmarks.ts. */
export const HTTP_VARIANTS = [
  'bare',
  'interceptor',
  'floor',
  'floor-create',
  'zero-messages',
  'one-message-discard',
  'one-message',
  'one-message-sqlite',
  'one-message-sqlite-normal',
  'one-message-sqlite-outage',
  'one-message-amqp',
  'one-message-telemetry-no-sdk',
  'one-message-telemetry-sdk',
] as const;
export type HttpVariant = (typeof HTTP_VARIANTS)[number];

/** Adds messages, or (bare and floor variants) does nothing. */
type AddMessage = (item: object) => void;
const ADD_MESSAGE = Symbol('ADD_MESSAGE');

/** The same controller in every variant. */
@Controller('items')
class ItemsController {
  private next = 0;
  constructor(@Inject(ADD_MESSAGE) private readonly addMessage: AddMessage) {}

  @Post()
  create(@Body() body: { name: string }): { id: number; name: string } {
    const item = { id: ++this.next, name: body.name };
    this.addMessage(item);
    return item;
  }
}

/** The outbox counters, read by the runner after a measurement (variants with the module). */
@Controller('stats')
class StatsController {
  constructor(private readonly moduleRef: ModuleRef) {}

  @Get()
  async stats(): Promise<unknown> {
    const { OutboxAdmin } = await import('nestjs-messaging');
    return this.moduleRef.get(OutboxAdmin, { strict: false }).stats();
  }

  /**
   * `process.memoryUsage()` in bytes, read by the memory part beside the RSS it reads from /proc,
   * with the size V8 reserved for its young (`newSpace`) and old (`oldSpace`) generations. With
   * `?gc=1`, after a full garbage collection: `heapUsed` is then what the heap holds alive.
   */
  @Get('memory')
  memory(@Query('gc') gc?: string): NodeJS.MemoryUsage & { newSpace: number; oldSpace: number } {
    if (gc === '1') {
      setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
    }
    const spaces = getHeapSpaceStatistics();
    const size = (name: string): number => spaces.find((space) => space.space_name === name)?.space_size ?? 0;
    return { ...process.memoryUsage(), newSpace: size('new_space'), oldSpace: size('old_space') };
  }
}

/** An interceptor that does nothing: the cost any global interceptor adds in Nest. */
@Injectable()
class PassThroughInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/** The floor of the design: a global interceptor that runs the handler in a nestjs-cls context. */
async function clsInterceptor(): Promise<Type<NestInterceptor>> {
  const { ClsService } = await import('nestjs-cls');
  @Injectable()
  class ClsRunInterceptor implements NestInterceptor {
    constructor(@Inject(ClsService) private readonly cls: InstanceType<typeof ClsService>) {}
    intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
      return this.cls.run(() => next.handle());
    }
  }
  return ClsRunInterceptor;
}

@Module({})
class BenchAppModule {}

/** Builds the variant's module; the library is loaded only by the variants that use it. */
async function moduleFor(variant: HttpVariant): Promise<DynamicModule> {
  const base = { module: BenchAppModule, controllers: [ItemsController] };
  const noop: AddMessage = () => undefined;
  if (variant === 'bare') return { ...base, providers: [{ provide: ADD_MESSAGE, useValue: noop }] };
  if (variant === 'interceptor') {
    return {
      ...base,
      providers: [
        { provide: ADD_MESSAGE, useValue: noop },
        { provide: APP_INTERCEPTOR, useClass: PassThroughInterceptor },
      ],
    };
  }
  if (variant === 'floor' || variant === 'floor-create') {
    // ClsModule as MessagingModule imports it: ClsService, no middleware.
    const { ClsModule } = await import('nestjs-cls');
    // floor-create: the floor plus creating the message (createMessage(), then dropped), without the module.
    const { createMessage } = await import('nestjs-messaging');
    const create: AddMessage = (item) => {
      createMessage('.items.added', { new_value: item, url: null });
    };
    return {
      ...base,
      imports: [ClsModule],
      providers: [
        { provide: ADD_MESSAGE, useValue: variant === 'floor' ? noop : create },
        { provide: APP_INTERCEPTOR, useClass: await clsInterceptor() },
      ],
    };
  }
  const { MessageQueue, MessagingModule, MessengerUnavailableError } = await import('nestjs-messaging');
  const { AmqpMessenger } = await import('nestjs-messaging/amqp');
  const { SqliteOutboxStore } = await import('nestjs-messaging/sqlite');
  const perRequest = variant === 'zero-messages' ? 0 : 1;
  // MessagingTelemetryModule (tracing and metrics), with no SDK registered or with one whose exporters drop everything.
  const telemetry = variant.startsWith('one-message-telemetry')
    ? [(await import('nestjs-messaging/opentelemetry')).MessagingTelemetryModule.forRoot()]
    : [];
  if (variant === 'one-message-telemetry-sdk') (await import('./otel-noop-sdk.js')).registerNoopSdk();
  // A messenger that does nothing, so the figures measure the library's own cost; or AMQP to BENCH_LATENCY_BROKER_URL.
  // The outage variant: a bus that stays unreachable, the backlog on disk.
  const messenger =
    variant === 'one-message-amqp'
      ? new AmqpMessenger({ urls: [process.env.BENCH_LATENCY_BROKER_URL ?? ''], address: '/topic/{topic}' })
      : variant === 'one-message-sqlite-outage'
        ? { send: () => Promise.reject(new MessengerUnavailableError('bench: the bus is down')) }
        : { send: () => Promise.resolve() };
  // one-message-discard: an outbox that keeps nothing, so the dispatcher finds nothing to send.
  const outbox = variant.startsWith('one-message-sqlite')
    ? new SqliteOutboxStore({
        path: process.env.BENCH_OUTBOX_PATH ?? '',
        synchronous: variant === 'one-message-sqlite' ? 'full' : 'normal',
      })
    : variant === 'one-message-discard'
      ? new (await import('./discarding-outbox.store.js')).DiscardingOutboxStore()
      : undefined;
  return {
    ...base,
    imports: [
      MessagingModule.forRoot({
        messenger,
        delivery: process.env.BENCH_DELIVERY === 'await' ? 'await' : 'background',
        // BENCH_BATCH_WINDOW_MS: dispatch.batchWindowMs, to compare against the store's preference.
        ...(process.env.BENCH_BATCH_WINDOW_MS === undefined
          ? {}
          : { dispatch: { batchWindowMs: Number(process.env.BENCH_BATCH_WINDOW_MS) } }),
        ...(outbox === undefined ? {} : { outbox }),
      }),
      ...telemetry,
    ],
    controllers: [...base.controllers, StatsController],
    providers: [
      {
        provide: ADD_MESSAGE,
        inject: [MessageQueue as Type<InstanceType<typeof MessageQueue>>],
        useFactory:
          (queue: InstanceType<typeof MessageQueue>): AddMessage =>
          (item) => {
            for (let i = 0; i < perRequest; i++) queue.add('.items.added', { new_value: item, url: null });
          },
      },
    ],
  };
}

const variant = process.env.BENCH_VARIANT as HttpVariant;
if (!HTTP_VARIANTS.includes(variant)) throw new Error(`BENCH_VARIANT: expected one of ${HTTP_VARIANTS.join(', ')}`);
const platform = httpPlatformFromEnv();
const app = await NestFactory.create(await moduleFor(variant), httpAdapterFor(platform), { logger: false });
// BENCH_IN_PROCESS=<requests>: measure in this process, print the result and exit (see in-process-load.ts).
if (process.env.BENCH_IN_PROCESS !== undefined) {
  await app.init();
  const { measureInProcess } = await import('./in-process-load.js');
  const { OutboxAdmin } = await import('nestjs-messaging');
  const admin =
    variant.startsWith('floor') || variant === 'bare' || variant === 'interceptor' ? undefined : app.get(OutboxAdmin);
  const settled = async (): Promise<boolean> => admin === undefined || (await admin.stats()).stored.pending === 0;
  const result = await measureInProcess(app, platform, Number(process.env.BENCH_IN_PROCESS), 50, settled);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  await app.close();
  process.exit(0);
}
await app.listen(0, '127.0.0.1');
// A normal exit on SIGTERM, so that `--cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
// The parent reads this line to know where to send load.
process.stdout.write(`READY ${await app.getUrl()}\n`);
