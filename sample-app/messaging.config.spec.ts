import { FedoraMessagingMessenger } from 'nestjs-messaging/fedora-messaging';
import { MysqlOutboxStore } from 'nestjs-messaging/mysql';
import { createMessage, MessagingOptionsError } from 'nestjs-messaging';
import { fedoraMessagingOptionsFromEnv, messagingOptionsFromEnv } from './messaging.config.js';

describe('the sample app with MESSAGE_BUS_BACKEND=fedora-messaging', () => {
  it('builds a FedoraMessagingMessenger from the FEDORA_MESSAGING_* variables', () => {
    const env = {
      MESSAGE_BUS_BACKEND: 'fedora-messaging',
      FEDORA_MESSAGING_URL: 'amqps://a.example.org/%2Fpubsub, amqps://b.example.org/%2Fpubsub',
      FEDORA_MESSAGING_TOPIC_PREFIX: 'org.fedoraproject.stg',
      FEDORA_MESSAGING_SCHEMA: 'pdc.message',
      FEDORA_MESSAGING_CA_CERT: '/etc/fm/ca.pem',
      FEDORA_MESSAGING_CERTFILE: '/etc/fm/cert.pem',
      FEDORA_MESSAGING_KEYFILE: '/etc/fm/key.pem',
    };
    const options = fedoraMessagingOptionsFromEnv(env);
    expect(options).toMatchObject({
      urls: ['amqps://a.example.org/%2Fpubsub', 'amqps://b.example.org/%2Fpubsub'],
      app: 'nestjs-messaging-sample-app',
      topicPrefix: 'org.fedoraproject.stg',
      schema: 'pdc.message',
      caCertificate: '/etc/fm/ca.pem',
      certificate: '/etc/fm/cert.pem',
      privateKey: '/etc/fm/key.pem',
    });
    expect(options.filters?.(createMessage('.compose.created', { author: 'alice' }))).toEqual({ user: ['alice'] });
    expect(options.filters?.(createMessage('.compose.created', { author: null }))).toEqual({});
    // The files do not exist: the messenger refuses them at start-up, naming the options.
    expect(() => messagingOptionsFromEnv(env)).toThrow(MessagingOptionsError);
    expect(() => messagingOptionsFromEnv(env)).toThrow(/caCertificate: cannot read \/etc\/fm\/ca\.pem/);
  });

  it('needs FEDORA_MESSAGING_URL', () => {
    expect(() => messagingOptionsFromEnv({ MESSAGE_BUS_BACKEND: 'fedora-messaging' })).toThrow(/FEDORA_MESSAGING_URL/);
  });

  it('connects to nothing until started', () => {
    const { messenger } = messagingOptionsFromEnv({
      MESSAGE_BUS_BACKEND: 'fedora-messaging',
      FEDORA_MESSAGING_URL: 'amqp://127.0.0.1:5672',
    });
    expect(messenger).toBeInstanceOf(FedoraMessagingMessenger);
    expect((messenger as FedoraMessagingMessenger).state.status).toBe('starting');
  });
});

describe('the sample app with MESSAGE_OUTBOX=mysql', () => {
  it('builds a MysqlOutboxStore on MESSAGE_OUTBOX_URL and MESSAGE_OUTBOX_TABLE', async () => {
    const { outbox } = messagingOptionsFromEnv({
      MESSAGE_OUTBOX: 'mysql',
      MESSAGE_OUTBOX_URL: 'mysql://app@db.example.org:3306/shop',
      MESSAGE_OUTBOX_TABLE: 'pdc_outbox',
    });
    expect(outbox).toBeInstanceOf(MysqlOutboxStore);
    expect((outbox as MysqlOutboxStore).table).toBe('pdc_outbox');
    // Built without connecting: closing it ends nothing it opened.
    await (outbox as MysqlOutboxStore).close();
  });

  it('needs MESSAGE_OUTBOX_URL', () => {
    expect(() => messagingOptionsFromEnv({ MESSAGE_OUTBOX: 'mysql' })).toThrow(
      'MESSAGE_OUTBOX_URL: required with MESSAGE_OUTBOX=mysql',
    );
  });
});
