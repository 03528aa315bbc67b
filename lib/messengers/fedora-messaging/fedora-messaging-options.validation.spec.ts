import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import type { FedoraMessagingMessengerOptions } from './fedora-messaging-options.interface.js';
import { redactUrl, resolveFedoraMessagingOptions } from './fedora-messaging-options.validation.js';

function optionsError(options: unknown): MessagingOptionsError {
  try {
    resolveFedoraMessagingOptions(options as FedoraMessagingMessengerOptions);
  } catch (error) {
    if (error instanceof MessagingOptionsError) return error;
    throw error;
  }
  throw new Error('expected a MessagingOptionsError');
}

describe('FedoraMessagingMessenger options', () => {
  it('never shows a password, even one holding an unencoded @, /, # or ?', () => {
    expect(redactUrl('amqps://u:s3c@ret@host/%2Fpubsub')).toBe('amqps://u:***@host/%2Fpubsub');
    expect(resolveFedoraMessagingOptions({ urls: ['amqp://u:s3c@ret@host'], app: 'a' }).brokers[0]).toMatchObject({
      url: 'amqp://u:***@host',
      password: 's3c@ret',
    });
    for (const password of ['s3cr/et', 's3cr#et', 's3cr?et']) {
      const error = optionsError({ urls: [`amqp://u:${password}@host`], app: 'a' });
      expect(error.message).toContain('urls[0]: "amqp://u:***@host" is not a URL');
      expect(error.message).not.toContain('et@');
    }
  });

  it('names a topics entry that is not an object instead of throwing a TypeError', () => {
    const error = optionsError({ urls: ['amqp://host'], app: 'a', topics: { '.compose': null } });
    expect(error.message).toContain('topics[".compose"]: expected { schema?, schemaPackage?, severity? }, got null');
  });
});
