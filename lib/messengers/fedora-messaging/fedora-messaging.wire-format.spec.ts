import { createMessage } from '../../kernel/message.factory.js';
import { fedoraMessaging } from './fedora-messaging.preset.js';
import {
  fedoraMessagingRoutingKey,
  sentAt,
  toFedoraMessagingPublish,
  type WireSettings,
} from './fedora-messaging.wire-format.js';

const settings: WireSettings = { topicPrefix: 'org.fedoraproject.prod', schema: 'base.message', severity: 20 };
const stamp = sentAt(new Date(Date.UTC(2026, 10, 30, 21, 28, 0, 987)));

describe('the fedora-messaging wire format', () => {
  it('writes sent-at as Python isoformat() of a UTC time without microseconds', () => {
    expect(stamp).toBe('2026-11-30T21:28:00+00:00');
  });

  it('joins prefix and topic with one dot, our leading dot stripped; the bare topic without a prefix', () => {
    expect(fedoraMessagingRoutingKey('org.fedoraproject.prod', '.compose.created')).toBe(
      'org.fedoraproject.prod.compose.created',
    );
    expect(fedoraMessagingRoutingKey('', '.compose.created')).toBe('compose.created');
    expect(fedoraMessagingRoutingKey('org.x', 'plain')).toBe('org.x.plain');
  });

  it('maps a message to the properties, headers and body fedora-messaging consumers read', () => {
    const message = createMessage('.compose.created', { author: 'alice', n: 1 }, { headers: { request_id: 'r' } });
    const publish = toFedoraMessagingPublish(message, { ...settings, schemaPackage: 'pdc_messages' }, stamp);
    expect(publish).toEqual({
      routingKey: 'org.fedoraproject.prod.compose.created',
      content: Buffer.from('{"author":"alice","n":1}', 'utf8'),
      properties: {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 2,
        messageId: message.id,
        headers: {
          request_id: 'r',
          fedora_messaging_schema: 'base.message',
          fedora_messaging_schema_package: 'pdc_messages',
          fedora_messaging_severity: 20,
          'sent-at': '2026-11-30T21:28:00+00:00',
        },
      },
    });
  });

  it('sets priority and its header only when configured, and the filter headers the function returns', () => {
    const message = createMessage('.a', { author: 'bob' });
    const publish = toFedoraMessagingPublish(
      message,
      { ...settings, priority: 5, filters: () => ({ user: ['bob'], group: ['infra'], flatpak: ['firefox'] }) },
      stamp,
    );
    expect(publish).toMatchObject({
      properties: {
        priority: 5,
        headers: {
          priority: 5,
          fedora_messaging_user_bob: true,
          fedora_messaging_group_infra: true,
          fedora_messaging_flatpak_firefox: true,
        },
      },
    });
  });

  it('takes a message severity from its fedora_messaging_severity header, and refuses one consumers would drop', () => {
    const warning = createMessage('.a', {}, { headers: { fedora_messaging_severity: 30 } });
    expect(toFedoraMessagingPublish(warning, settings, stamp)).toMatchObject({
      properties: { headers: { fedora_messaging_severity: 30 } },
    });
    const odd = createMessage('.a', {}, { headers: { fedora_messaging_severity: 25 } });
    expect(toFedoraMessagingPublish(odd, settings, stamp)).toEqual({
      invalid: 'its fedora_messaging_severity header 25 is not one of 10, 20, 30, 40',
    });
  });

  it('refuses our own headers under the reserved names, and a filters function that throws or returns no name', () => {
    for (const name of ['fedora_messaging_user_x', 'sent-at', 'priority']) {
      const message = createMessage('.a', {}, { headers: { [name]: true } });
      expect(toFedoraMessagingPublish(message, settings, stamp)).toEqual({
        invalid: `its header "${name}" is reserved by the fedora-messaging wire format`,
      });
    }
    const message = createMessage('.a', {});
    const throwing = (): never => {
      throw new Error('no author');
    };
    expect(toFedoraMessagingPublish(message, { ...settings, filters: throwing }, stamp)).toEqual({
      invalid: 'the filters function threw: no author',
    });
    expect(toFedoraMessagingPublish(message, { ...settings, filters: () => ({ rpm: [''] }) }, stamp)).toEqual({
      invalid: 'the filters function returned "" as a rpm name',
    });
  });
});

describe('the fedoraMessaging preset', () => {
  it('refuses a routing key or a header name past 255 bytes (AMQP short strings)', () => {
    const long = 'é'.repeat(128); // 256 bytes
    expect(toFedoraMessagingPublish(createMessage(`.${long}`, {}), settings, stamp)).toEqual({
      invalid: expect.stringContaining('routing key') as string,
    });
    expect(toFedoraMessagingPublish(createMessage('.a', {}, { headers: { [long]: 1 } }), settings, stamp)).toEqual({
      invalid: expect.stringContaining('header name') as string,
    });
    const filters = (): { user: string[] } => ({ user: [long] });
    expect(toFedoraMessagingPublish(createMessage('.a', {}), { ...settings, filters }, stamp)).toEqual({
      invalid: expect.stringContaining('header name') as string,
    });
    const fits = 'a'.repeat(255 - 'org.fedoraproject.prod.'.length);
    expect(toFedoraMessagingPublish(createMessage(`.${fits}`, {}), settings, stamp)).toHaveProperty('routingKey');
  });

  it("fills in Fedora's production and staging prefixes and amq.topic", () => {
    expect(fedoraMessaging.production({ urls: ['amqps://b'], app: 'pdc' })).toEqual({
      urls: ['amqps://b'],
      app: 'pdc',
      exchange: 'amq.topic',
      topicPrefix: 'org.fedoraproject.prod',
    });
    expect(fedoraMessaging.staging({ urls: ['amqps://b'], app: 'pdc' }).topicPrefix).toBe('org.fedoraproject.stg');
  });
});
