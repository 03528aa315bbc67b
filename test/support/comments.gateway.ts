import type { IncomingMessage } from 'node:http';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
  type OnGatewayInit,
} from '@nestjs/websockets';
import { MessageQueue } from 'nestjs-messaging';
import { sleep } from './wait-for.js';

type Authenticated = IncomingMessage & { user?: { username: string } };

/** Stands in for authentication: the user named by the handshake's `x-user` header. */
function authenticate(request: Authenticated): void {
  const name = request.headers['x-user'];
  if (typeof name === 'string') request.user = { username: name };
}

/**
 * A gateway whose message handlers add messages, on whichever adapter the
 * app uses (ws or socket.io), on the HTTP server's port.
 */
@WebSocketGateway()
export class CommentsGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(private readonly messages: MessageQueue) {}

  afterInit(server: unknown): void {
    // socket.io: authentication middleware, as passport's socket.io integrations set socket.request.user.
    const io = server as { use?: (fn: (socket: { request: Authenticated }, next: () => void) => void) => void };
    io.use?.((socket, next) => {
      authenticate(socket.request);
      next();
    });
  }

  handleConnection(client: { request?: unknown }, request?: Authenticated): void {
    // The ws adapter hands the handshake to handleConnection only: keep it where the enricher reads it.
    if (request !== undefined && client.request === undefined) {
      authenticate(request);
      client.request = request;
    }
  }

  @SubscribeMessage('comment')
  async comment(@MessageBody() data: { text: string }): Promise<{ event: string; data: string }> {
    await sleep(5);
    this.messages.add('.comments.added', { text: data.text });
    return { event: 'commented', data: data.text };
  }

  @SubscribeMessage('fail')
  fail(@MessageBody() data: { text: string }): never {
    this.messages.add('.should-not-leave', { text: data.text });
    throw new WsException('comment refused');
  }
}
