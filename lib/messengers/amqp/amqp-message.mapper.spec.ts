import { createMessage } from '../../kernel/message.factory.js';
import { AMQP_ADDRESS } from './amqp-options.interface.js';
import { amqpAddress, toAmqpMessage } from './amqp-message.mapper.js';

describe('toAmqpMessage', () => {
  it('maps a message as PDC did: durable JSON text, scalars and DATA: properties, headers last', () => {
    const message = createMessage(
      '.releases.added',
      {
        new_value: { release_id: 'f-41', active: true, version: 41, notes: null, tags: ['x'], owner: { name: 'a' } },
        url: 'https://pdc/releases/f-41',
        author: 'alice',
        comment: null,
        count: 2.5,
        list: [1],
        nested: { deep: 1 },
      },
      { headers: { priority: 4, author: 'header-wins' } },
    );
    const amqp = toAmqpMessage(message);
    expect(amqp).toEqual({
      message_id: message.id,
      durable: true,
      content_type: 'application/json',
      creation_time: new Date(message.timestamp),
      subject: '.releases.added',
      body: JSON.stringify(message.body),
      application_properties: {
        url: 'https://pdc/releases/f-41',
        author: 'header-wins',
        comment: null,
        count: 2.5,
        'DATA:release_id': 'f-41',
        'DATA:active': true,
        'DATA:version': 41,
        'DATA:notes': null,
        priority: 4,
      },
    });
  });

  it('adds no DATA: properties when new_value is not an object', () => {
    const amqp = toAmqpMessage(createMessage('.x', { new_value: [1, 2], old_value: { a: 1 } }));
    expect(amqp.application_properties).toEqual({});
  });
});

describe('amqpAddress', () => {
  it.each([
    [AMQP_ADDRESS.activemq, 'VirtualTopic.eng.pdc', '.compose', 'topic://VirtualTopic.eng.pdc.compose'],
    [AMQP_ADDRESS.artemis, 'eng.pdc', '.compose', 'eng.pdc.compose'],
    [AMQP_ADDRESS.rabbitmq3, 'eng.pdc', '.compose', '/topic/eng.pdc.compose'],
    [AMQP_ADDRESS.rabbitmq3Exchange, 'eng.pdc', '.compose', '/exchange/amq.topic/eng.pdc.compose'],
    [AMQP_ADDRESS.rabbitmq4, 'eng.pdc', '.compose', '/exchanges/amq.topic/eng.pdc.compose'],
  ])('%s with prefix %s and topic %s is %s', (template, prefix, topic, expected) => {
    expect(amqpAddress(template, prefix, topic)).toBe(expected);
  });
});
