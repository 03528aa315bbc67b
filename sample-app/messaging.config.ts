import {
  LoggingMessenger,
  MemoryOutboxStore,
  type DispatchOptions,
  type MessagingModuleOptions,
  type Messenger,
  type OutboxStore,
} from 'nestjs-messaging';
import { AmqpMessenger } from 'nestjs-messaging/amqp';
import { FedmsgMessenger } from 'nestjs-messaging/fedmsg';
import { FedoraMessagingMessenger, type FedoraMessagingMessengerOptions } from 'nestjs-messaging/fedora-messaging';
import { MysqlOutboxStore } from 'nestjs-messaging/mysql';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import { SqliteOutboxStore } from 'nestjs-messaging/sqlite';

/** Messenger back-ends the sample app can run on, chosen by `MESSAGE_BUS_BACKEND`. */
export const MESSAGE_BUS_BACKENDS = ['logging', 'fedmsg', 'amqp', 'fedora-messaging'] as const;

/**
 * Builds the messaging options from the environment, the way PDC reads its
 * `MESSAGE_BUS` setting: the messenger from `MESSAGE_BUS_BACKEND` (default
 * `logging`), the outbox from `MESSAGE_OUTBOX` (default `memory`), and the
 * delivery settings from `MESSAGE_DELIVERY` and the `MESSAGE_DISPATCH_*` variables.
 */
export function messagingOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): MessagingModuleOptions {
  const delivery = env.MESSAGE_DELIVERY ?? 'background';
  if (delivery !== 'background' && delivery !== 'await') {
    throw new Error(`MESSAGE_DELIVERY: expected "background" or "await", got "${delivery}"`);
  }
  return {
    messenger: messengerFromEnv(env),
    outbox: outboxFromEnv(env),
    delivery,
    dispatch: dispatchFromEnv(env),
    ...(env.MESSAGE_SHUTDOWN_TIMEOUT_MS === undefined
      ? {}
      : { shutdownTimeoutMs: wholeNumber(env, 'MESSAGE_SHUTDOWN_TIMEOUT_MS') }),
  };
}

function messengerFromEnv(env: NodeJS.ProcessEnv): Messenger | typeof LoggingMessenger {
  const backend = (env.MESSAGE_BUS_BACKEND ?? 'logging').trim().toLowerCase() || 'logging';
  switch (backend) {
    case 'logging':
      return LoggingMessenger;
    case 'fedmsg':
      return new FedmsgMessenger(fedmsgOptionsFromEnv(env));
    case 'amqp':
      return new AmqpMessenger(amqpOptionsFromEnv(env));
    case 'fedora-messaging':
      return new FedoraMessagingMessenger(fedoraMessagingOptionsFromEnv(env));
    default:
      throw new Error(
        `MESSAGE_BUS_BACKEND: unknown back-end "${backend}"; expected one of ${MESSAGE_BUS_BACKENDS.join(', ')}`,
      );
  }
}

/**
 * `MESSAGE_OUTBOX`: `memory` (default; `MESSAGE_OUTBOX_MAX_MESSAGES`),
 * `sqlite` (`MESSAGE_OUTBOX_PATH`, default `outbox.db` in the working
 * directory), `postgres` (`MESSAGE_OUTBOX_URL`, a postgres:// URL;
 * `MESSAGE_OUTBOX_TABLE`; the table is created at start-up if missing) or
 * `mysql` (MySQL 8+ or MariaDB 10.6+: `MESSAGE_OUTBOX_URL`, a mysql:// URL;
 * `MESSAGE_OUTBOX_TABLE`; created at start-up if missing).
 */
function outboxFromEnv(env: NodeJS.ProcessEnv): OutboxStore {
  const kind = (env.MESSAGE_OUTBOX ?? 'memory').trim().toLowerCase() || 'memory';
  switch (kind) {
    case 'memory':
      return new MemoryOutboxStore(
        env.MESSAGE_OUTBOX_MAX_MESSAGES === undefined
          ? {}
          : { maxMessages: wholeNumber(env, 'MESSAGE_OUTBOX_MAX_MESSAGES') },
      );
    case 'sqlite':
      return new SqliteOutboxStore({ path: env.MESSAGE_OUTBOX_PATH ?? 'outbox.db' });
    case 'postgres':
      if (env.MESSAGE_OUTBOX_URL === undefined)
        throw new Error('MESSAGE_OUTBOX_URL: required with MESSAGE_OUTBOX=postgres');
      return new PostgresOutboxStore({
        connectionString: env.MESSAGE_OUTBOX_URL,
        ...(env.MESSAGE_OUTBOX_TABLE === undefined ? {} : { table: env.MESSAGE_OUTBOX_TABLE }),
        createSchema: true,
      });
    case 'mysql':
      if (env.MESSAGE_OUTBOX_URL === undefined)
        throw new Error('MESSAGE_OUTBOX_URL: required with MESSAGE_OUTBOX=mysql');
      return new MysqlOutboxStore({
        connectionString: env.MESSAGE_OUTBOX_URL,
        ...(env.MESSAGE_OUTBOX_TABLE === undefined ? {} : { table: env.MESSAGE_OUTBOX_TABLE }),
        createSchema: true,
      });
    default:
      throw new Error(`MESSAGE_OUTBOX: unknown outbox "${kind}"; expected memory, sqlite, postgres or mysql`);
  }
}

/**
 * `MESSAGE_DISPATCH_LEASE_MS`, `MESSAGE_DISPATCH_BUS_PROBE_INTERVAL_MS`,
 * `MESSAGE_DISPATCH_RETRY_INITIAL_DELAY_MS`, `MESSAGE_DISPATCH_RETRY_MAX_ATTEMPTS`,
 * `MESSAGE_DISPATCH_RETAIN_DELIVERED_MS`.
 */
function dispatchFromEnv(env: NodeJS.ProcessEnv): DispatchOptions {
  const retry = {
    ...(env.MESSAGE_DISPATCH_RETRY_INITIAL_DELAY_MS === undefined
      ? {}
      : { initialDelayMs: wholeNumber(env, 'MESSAGE_DISPATCH_RETRY_INITIAL_DELAY_MS') }),
    ...(env.MESSAGE_DISPATCH_RETRY_MAX_ATTEMPTS === undefined
      ? {}
      : { maxAttempts: wholeNumber(env, 'MESSAGE_DISPATCH_RETRY_MAX_ATTEMPTS') }),
  };
  return {
    retry,
    ...(env.MESSAGE_DISPATCH_LEASE_MS === undefined ? {} : { leaseMs: wholeNumber(env, 'MESSAGE_DISPATCH_LEASE_MS') }),
    ...(env.MESSAGE_DISPATCH_RETAIN_DELIVERED_MS === undefined
      ? {}
      : { retainDeliveredMs: wholeNumber(env, 'MESSAGE_DISPATCH_RETAIN_DELIVERED_MS') }),
    ...(env.MESSAGE_DISPATCH_BUS_PROBE_INTERVAL_MS === undefined
      ? {}
      : { busProbeIntervalMs: wholeNumber(env, 'MESSAGE_DISPATCH_BUS_PROBE_INTERVAL_MS') }),
  };
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string): number {
  const value = Number(env[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}: expected a whole number, got "${env[name]}"`);
  return value;
}

/**
 * `FEDMSG_ENDPOINT` (comma-separated; default `tcp://127.0.0.1:9940`),
 * `FEDMSG_ACTIVE` (`true` to connect to a relay), `FEDMSG_ENVIRONMENT`,
 * `FEDMSG_TOPIC_PREFIX`, `FEDMSG_MODNAME`, and `FEDMSG_CERTIFICATE` with
 * `FEDMSG_PRIVATE_KEY` to sign.
 */
function fedmsgOptionsFromEnv(env: NodeJS.ProcessEnv): ConstructorParameters<typeof FedmsgMessenger>[0] {
  const certificate = env.FEDMSG_CERTIFICATE;
  const privateKey = env.FEDMSG_PRIVATE_KEY;
  if ((certificate === undefined) !== (privateKey === undefined)) {
    throw new Error('FEDMSG_CERTIFICATE and FEDMSG_PRIVATE_KEY: set both to sign messages, or neither');
  }
  return {
    endpoints: (env.FEDMSG_ENDPOINT ?? 'tcp://127.0.0.1:9940').split(',').map((endpoint) => endpoint.trim()),
    active: env.FEDMSG_ACTIVE === 'true',
    environment: env.FEDMSG_ENVIRONMENT,
    topicPrefix: env.FEDMSG_TOPIC_PREFIX,
    modname: env.FEDMSG_MODNAME,
    sign: certificate !== undefined && privateKey !== undefined ? { certificate, privateKey } : undefined,
  };
}

/**
 * The seed's `MESSAGE_BUS` keys as variables: `MESSAGE_BUS_URLS`
 * (comma-separated), `MESSAGE_BUS_CONNECTION_TIMEOUT` (seconds),
 * `MESSAGE_BUS_CERTIFICATE`, `MESSAGE_BUS_CACERT`, `MESSAGE_BUS_TOPIC_PREFIX`,
 * plus `MESSAGE_BUS_ADDRESS`, `MESSAGE_BUS_USERNAME`, `MESSAGE_BUS_PASSWORD` and
 * `MESSAGE_BUS_RECONNECT_MAX_MS` (longest delay between reconnection attempts).
 */
function amqpOptionsFromEnv(env: NodeJS.ProcessEnv): ConstructorParameters<typeof AmqpMessenger>[0] {
  const timeout = env.MESSAGE_BUS_CONNECTION_TIMEOUT;
  if (timeout !== undefined && !(Number(timeout) > 0)) {
    throw new Error(`MESSAGE_BUS_CONNECTION_TIMEOUT: expected seconds > 0, got "${timeout}"`);
  }
  return {
    urls: (env.MESSAGE_BUS_URLS ?? '')
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url.length > 0),
    connectionTimeout: timeout === undefined ? undefined : Number(timeout),
    certificate: env.MESSAGE_BUS_CERTIFICATE,
    caCertificate: env.MESSAGE_BUS_CACERT,
    topicPrefix: env.MESSAGE_BUS_TOPIC_PREFIX,
    address: env.MESSAGE_BUS_ADDRESS,
    username: env.MESSAGE_BUS_USERNAME,
    password: env.MESSAGE_BUS_PASSWORD,
    reconnectDelayMaxMs:
      env.MESSAGE_BUS_RECONNECT_MAX_MS === undefined ? undefined : wholeNumber(env, 'MESSAGE_BUS_RECONNECT_MAX_MS'),
  };
}

/**
 * `FEDORA_MESSAGING_URL` (comma-separated amqp:// or amqps:// URLs; required),
 * `FEDORA_MESSAGING_TOPIC_PREFIX` (such as `org.fedoraproject.stg`),
 * `FEDORA_MESSAGING_SCHEMA` (default `base.message`), and for TLS
 * `FEDORA_MESSAGING_CA_CERT`, `FEDORA_MESSAGING_CERTFILE` and
 * `FEDORA_MESSAGING_KEYFILE` (with a client certificate, SASL EXTERNAL).
 * A compose's `author` becomes a `fedora_messaging_user_<author>` header.
 */
export function fedoraMessagingOptionsFromEnv(env: NodeJS.ProcessEnv): FedoraMessagingMessengerOptions {
  const urls = (env.FEDORA_MESSAGING_URL ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
  if (urls.length === 0) throw new Error('FEDORA_MESSAGING_URL: required with MESSAGE_BUS_BACKEND=fedora-messaging');
  return {
    urls,
    app: 'nestjs-messaging-sample-app',
    topicPrefix: env.FEDORA_MESSAGING_TOPIC_PREFIX,
    schema: env.FEDORA_MESSAGING_SCHEMA,
    caCertificate: env.FEDORA_MESSAGING_CA_CERT,
    certificate: env.FEDORA_MESSAGING_CERTFILE,
    privateKey: env.FEDORA_MESSAGING_KEYFILE,
    filters: ({ body }) => (typeof body.author === 'string' && body.author !== '' ? { user: [body.author] } : {}),
  };
}
