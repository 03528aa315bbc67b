import { LoggingMessenger, type MessagingModuleOptions } from 'nestjs-messaging';

/** Messenger back-ends the sample app can run on, chosen by `MESSAGE_BUS_BACKEND`. */
export const MESSAGE_BUS_BACKENDS = ['logging'] as const;

/**
 * Builds the messaging options from the environment, the way PDC reads its
 * `MESSAGE_BUS` setting. `MESSAGE_BUS_BACKEND` defaults to `logging`.
 */
export function messagingOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): MessagingModuleOptions {
  const backend = (env.MESSAGE_BUS_BACKEND ?? 'logging').trim().toLowerCase() || 'logging';
  switch (backend) {
    case 'logging':
      return { messenger: LoggingMessenger };
    default:
      throw new Error(
        `MESSAGE_BUS_BACKEND: unknown back-end "${backend}"; expected one of ${MESSAGE_BUS_BACKENDS.join(', ')}`,
      );
  }
}
