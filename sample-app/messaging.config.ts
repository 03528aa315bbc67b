import { AmqpMessenger, FedmsgMessenger, LoggingMessenger, type MessagingModuleOptions } from 'nestjs-messaging';

/** Messenger back-ends the sample app can run on, chosen by `MESSAGE_BUS_BACKEND`. */
export const MESSAGE_BUS_BACKENDS = ['logging', 'fedmsg', 'amqp'] as const;

/**
 * Builds the messaging options from the environment, the way PDC reads its
 * `MESSAGE_BUS` setting. `MESSAGE_BUS_BACKEND` defaults to `logging`.
 */
export function messagingOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): MessagingModuleOptions {
  const backend = (env.MESSAGE_BUS_BACKEND ?? 'logging').trim().toLowerCase() || 'logging';
  switch (backend) {
    case 'logging':
      return { messenger: LoggingMessenger };
    case 'fedmsg':
      return { messenger: new FedmsgMessenger(fedmsgOptionsFromEnv(env)) };
    case 'amqp':
      return { messenger: new AmqpMessenger(amqpOptionsFromEnv(env)) };
    default:
      throw new Error(
        `MESSAGE_BUS_BACKEND: unknown back-end "${backend}"; expected one of ${MESSAGE_BUS_BACKENDS.join(', ')}`,
      );
  }
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
 * plus `MESSAGE_BUS_ADDRESS`, `MESSAGE_BUS_USERNAME`, `MESSAGE_BUS_PASSWORD`.
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
  };
}
