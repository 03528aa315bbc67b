import type { INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { MessagingModule } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { CommentsGateway } from './support/comments.gateway.js';
import { RecordingLogger } from './support/http-app.js';
import { waitFor } from './support/wait-for.js';

const HANDSHAKE_HEADERS = { 'x-user': 'alice', 'PDC-Change-Comment': 'from the handshake' };

/** Sends an event and resolves with the data of the next `commented` reply, the same way on both adapters. */
interface TestClient {
  comment(event: 'comment' | 'fail', text: string): void;
  nextReply(): Promise<unknown>;
  close(): void;
}

async function wsClient(url: string): Promise<TestClient> {
  const socket = new WebSocket(url.replace('http', 'ws'), { headers: HANDSHAKE_HEADERS });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      resolve();
    });
    socket.once('error', reject);
  });
  return {
    comment: (event, text) => {
      socket.send(JSON.stringify({ event, data: { text } }));
    },
    nextReply: () =>
      new Promise((resolve) => {
        const onMessage = (raw: Buffer): void => {
          // The adapter also sends the `exception` of a failed handler: skip it.
          const { event, data } = JSON.parse(raw.toString()) as { event: string; data: unknown };
          if (event !== 'commented') return;
          socket.off('message', onMessage);
          resolve(data);
        };
        socket.on('message', onMessage);
      }),
    close: () => {
      socket.close();
    },
  };
}

async function socketIoClient(url: string): Promise<TestClient> {
  const socket: Socket = ioClient(url, { transports: ['websocket'], extraHeaders: HANDSHAKE_HEADERS });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      resolve();
    });
    socket.once('connect_error', reject);
  });
  return {
    comment: (event, text) => {
      socket.emit(event, { text });
    },
    nextReply: () =>
      new Promise((resolve) => {
        socket.once('commented', resolve);
      }),
    close: () => {
      socket.close();
    },
  };
}

const ADAPTERS = [
  { name: 'ws', adapter: (app: INestApplication) => new WsAdapter(app), connect: wsClient },
  { name: 'socket.io', adapter: (app: INestApplication) => new IoAdapter(app), connect: socketIoClient },
];

describe.each(ADAPTERS)('WebSocket gateway on the $name adapter', ({ adapter, connect }) => {
  let app: INestApplication;
  let capture: CapturingMessenger;
  let client: TestClient;

  beforeEach(async () => {
    capture = new CapturingMessenger();
    const moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: capture, delivery: 'await' })],
      providers: [CommentsGateway],
    }).compile();
    app = moduleRef.createNestApplication(new ExpressAdapter(), { logger: new RecordingLogger() });
    app.useWebSocketAdapter(adapter(app));
    await app.listen(0, '127.0.0.1');
    client = await connect((await app.getUrl()).replace('[::1]', '127.0.0.1'));
  });
  afterEach(async () => {
    client.close();
    await app.close();
  });

  it('sends what a @SubscribeMessage handler adds when it succeeds, enriched from the handshake', async () => {
    const reply = client.nextReply();
    client.comment('comment', 'first!');
    expect(await reply).toBe('first!');
    await waitFor(() => capture.messages.length > 0, 5000, 'the message');
    expect(capture.messages.map(({ topic, body }) => ({ topic, body }))).toEqual([
      { topic: '.comments.added', body: { text: 'first!', author: 'alice', comment: 'from the handshake' } },
    ]);
  });

  it('sends nothing for a handler that throws WsException', async () => {
    const reply = client.nextReply();
    client.comment('fail', 'spam');
    client.comment('comment', 'after');
    // One connection's messages are handled in order: the failed one is settled once the next one replied.
    expect(await reply).toBe('after');
    await waitFor(() => capture.messages.length > 0, 5000, 'the second message');
    expect(capture.topics).toEqual(['.comments.added']);
  });
});
