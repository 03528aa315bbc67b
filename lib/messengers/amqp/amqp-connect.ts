import { isIP } from 'node:net';
import type { Connection, ConnectionOptions, Container, EventContext } from 'rhea';
import type { AmqpSaslMode, BrokerTarget, ResolvedAmqpOptions } from './amqp-options.interface.js';
import { connectionConditionKind, describeBrokerError } from './amqp-condition.js';
import { AmqpConnectionError, AmqpConnectionRefusedError, type AmqpConnectAttempt } from './amqp.errors.js';

/** An open connection and the broker it goes to. */
export interface OpenConnection {
  readonly connection: Connection;
  readonly target: BrokerTarget;
}

/** The broker itself closed or refused a connection, with an AMQP condition. */
export class BrokerRefusal extends Error {
  constructor(
    readonly condition: string,
    readonly description: string,
  ) {
    super(`the broker refused the connection: ${condition}: ${description}`);
  }
}

/**
 * The AMQP error a rhea connection event carries: a SASL failure in `error`, a broker's close in
 * `connection.error`. `sasl` says what a failed authentication is to be checked against.
 */
export function brokerRefusalOf(context: EventContext, sasl: AmqpSaslMode = 'auto'): BrokerRefusal | undefined {
  const error = (context.error ?? context.connection.error) as { condition?: string; description?: string } | undefined;
  if (error?.condition === undefined) return undefined;
  return new BrokerRefusal(error.condition, describeBrokerError(error.description, error.condition, sasl));
}

const SASL_HINT: Record<AmqpSaslMode, string> = {
  auto: 'check username and password',
  external: "check that the broker accepts SASL EXTERNAL and knows the client certificate's user",
};

/**
 * Tries the brokers in random order, as the seed does, giving each
 * `connectionTimeout` to open; the first that opens wins. When none does,
 * rejects with every URL and its reason: `AmqpConnectionRefusedError` when
 * a broker refused for a configuration reason (authentication, permission,
 * virtual host), else `AmqpConnectionError`.
 */
export async function connectToAny(container: Container, options: ResolvedAmqpOptions): Promise<OpenConnection> {
  const attempts: AmqpConnectAttempt[] = [];
  for (const target of shuffled(options.targets)) {
    try {
      return { connection: await connectTo(container, target, options), target };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      attempts.push(
        error instanceof BrokerRefusal
          ? { url: target.url, reason, condition: error.condition }
          : { url: target.url, reason },
      );
    }
  }
  if (attempts.some(({ condition }) => connectionConditionKind(condition) === 'configuration'))
    throw new AmqpConnectionRefusedError(attempts);
  throw new AmqpConnectionError(attempts);
}

function connectTo(container: Container, target: BrokerTarget, options: ResolvedAmqpOptions): Promise<Connection> {
  const connectionOptions = {
    host: target.host,
    port: target.port,
    // rhea's own reconnect would hide failures and retry the same broker: failover is ours.
    reconnect: false,
    idle_time_out: 30_000,
    // EXTERNAL: the only mechanism offered (rhea adds it for a TLS connection with a client certificate).
    ...(options.sasl === 'external' ? { enable_sasl_external: true } : {}),
    ...(target.username === undefined ? {} : { username: target.username, password: target.password }),
    // RabbitMQ reads the virtual host from the open frame's hostname; other brokers get their default.
    ...(target.vhost === undefined ? {} : { hostname: `vhost:${target.vhost}` }),
    ...(target.tls
      ? {
          transport: 'tls' as const,
          // SNI takes host names only (RFC 6066); '' (not undefined, which rhea
          // replaces with the host) sends none, and the certificate is still checked against the IP.
          servername: isIP(target.host) === 0 ? target.host : '',
          ca: options.tls.ca,
          cert: options.tls.cert,
          key: options.tls.key,
          rejectUnauthorized: true,
          ...(options.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
        }
      : { transport: 'tcp' as const }),
  } as ConnectionOptions;
  return new Promise((resolve, reject) => {
    const connection = container.connect(connectionOptions);
    const fail = (reason: string | Error): void => {
      cleanUp();
      abandon(connection);
      reject(typeof reason === 'string' ? new Error(reason) : reason);
    };
    const timer = setTimeout(() => {
      fail(`no AMQP connection opened within ${options.connectionTimeoutMs / 1000} s`);
    }, options.connectionTimeoutMs);
    const onOpen = (): void => {
      // RabbitMQ opens and at once closes a connection it refuses (no permission on the virtual
      // host): the close arrives with the open, so wait for the frames that came with it.
      setImmediate(() => {
        if (!connection.is_remote_open()) return;
        cleanUp();
        resolve(connection);
      });
    };
    const onError = (context: EventContext): void => {
      fail(brokerRefusalOf(context, options.sasl) ?? 'the broker refused the connection without saying why');
    };
    const onDisconnected = (context: EventContext): void => {
      const reason = describeSocketError(context.error, target);
      fail(inSasl(connection) ? `${reason} during SASL authentication (${SASL_HINT[options.sasl]})` : reason);
    };
    function cleanUp(): void {
      clearTimeout(timer);
      connection.removeListener('connection_open', onOpen);
      connection.removeListener('connection_error', onError);
      connection.removeListener('disconnected', onDisconnected);
    }
    connection.once('connection_open', onOpen);
    connection.once('connection_error', onError);
    connection.once('disconnected', onDisconnected);
  });
}

/** Socket and TLS errors, said so that the fix is clear. */
function describeSocketError(error: Error | undefined, target: BrokerTarget): string {
  if (error === undefined) return 'the broker closed the connection';
  const code = (error as { code?: string }).code ?? '';
  // OpenSSL messages carry a file name and line; the alert text is what matters.
  const alert = /alert ([a-z ]+?)(?::|$)/i.exec(error.message)?.[1];
  if (target.tls && alert !== undefined) {
    // The broker's alerts about our certificate: certificate required, bad certificate, unknown ca...
    return /certificate|handshake|unknown ca/i.test(alert)
      ? `TLS: the broker refused our client certificate (${alert}); set certificate (and privateKey) to one its CA accepts`
      : `TLS: the broker ended the handshake (${alert})`;
  }
  if (target.tls && (code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO/.test(code))) {
    const hostname = code === 'ERR_TLS_CERT_ALTNAME_INVALID';
    return `TLS: the broker's certificate was not accepted (${code}: ${error.message.split('\n')[0]}); ${
      hostname ? 'the URL host is not in it: fix the URL, or set verifyHostname: false' : 'check caCertificate'
    }`;
  }
  return code ? `${code}: ${error.message}` : error.message;
}

/** rhea's internals that outlive a dropped socket. */
interface RheaConnectionInternals {
  socket?: { destroy(): void; emit(event: 'end'): void };
  sasl_transport?: { mechanism?: unknown; transport?: { read_complete?: boolean } };
  heartbeat_in?: NodeJS.Timeout;
  heartbeat_out?: NodeJS.Timeout;
  abort_idle?: NodeJS.Timeout;
}

/** Whether the connection ended after the credentials were sent and before the broker said whether it took them. */
function inSasl(connection: Connection): boolean {
  const sasl = (connection as Connection & RheaConnectionInternals).sasl_transport;
  return sasl?.mechanism !== undefined && sasl.transport?.read_complete !== true;
}

/**
 * Drops a connection that is not wanted any more, whatever state it is in,
 * and releases its socket and timers: an abandoned connection keeps nothing alive.
 */
export function abandon(connection: Connection): void {
  connection.removeAllListeners();
  // A connection that errors after being abandoned must not crash the process.
  connection.on('error', () => undefined);
  connection.on('disconnected', () => undefined);
  const internals = connection as Connection & RheaConnectionInternals;
  const { socket } = internals;
  try {
    if (connection.is_open()) connection.close();
  } finally {
    socket?.destroy();
    // rhea cleans up (its heartbeat timer included) when its socket ends; a destroyed socket never does.
    socket?.emit('end');
    // Abandoned from inside rhea's input handler (a SASL outcome, a close), rhea arms its
    // heartbeat timer again after the handler returns: clear it once the handler is done.
    setImmediate(() => {
      clearTimeout(internals.heartbeat_in);
      clearTimeout(internals.heartbeat_out);
      clearTimeout(internals.abort_idle);
    });
  }
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
}
