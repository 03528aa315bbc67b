import rhea from 'rhea';
import { createMessage } from '../../kernel/message.factory.js';
import { AMQP_ADDRESS } from './amqp-options.interface.js';
import { amqpAddress, amqpBodyEncoder, toAmqpMessage } from './amqp-message.mapper.js';

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

describe('body sections', () => {
  const message = createMessage('.x', { title: 'Žluťoučký kůň', n: 1 }, { headers: { h: 'v' } });
  const json = JSON.stringify(message.body);
  // rhea's encoding of the bare message's body: the section's descriptor, then its value.
  const bodyBytes = (amqp: ReturnType<typeof toAmqpMessage>): Buffer => {
    const encoded = rhea.message.encode(amqp);
    return encoded.subarray(encoded.lastIndexOf(Buffer.from([0x00, 0x53])));
  };

  it('amqp-value (the default): the JSON text as an AMQP string, no content-encoding', () => {
    const amqp = toAmqpMessage(message);
    expect(amqp).toEqual(toAmqpMessage(message, amqpBodyEncoder('amqp-value', rhea.message)));
    expect(amqp.body).toBe(json);
    expect(amqp).not.toHaveProperty('content_encoding');
    const utf8 = Buffer.from(json, 'utf8');
    // 0x77 amqp-value, 0xa1 str8-utf8 with a one-byte length (AMQP 1.0 part 1, 1.6.20).
    expect(bodyBytes(amqp)).toEqual(Buffer.concat([Buffer.from([0x00, 0x53, 0x77, 0xa1, utf8.length]), utf8]));
  });

  it('data: the UTF-8 bytes of the JSON in one data section, with content-encoding utf-8', () => {
    const amqp = toAmqpMessage(message, amqpBodyEncoder('data', rhea.message));
    expect(amqp.content_type).toBe('application/json');
    expect(amqp.content_encoding).toBe('utf-8');
    const utf8 = Buffer.from(json, 'utf8');
    // 0x75 data, 0xa0 vbin8 with a one-byte length.
    expect(bodyBytes(amqp)).toEqual(Buffer.concat([Buffer.from([0x00, 0x53, 0x75, 0xa0, utf8.length]), utf8]));
    const decoded = rhea.message.decode(rhea.message.encode(amqp));
    expect(decoded.content_encoding).toBe('utf-8');
    expect(JSON.parse((decoded.body as { content: Buffer }).content.toString('utf8'))).toEqual(message.body);
    expect(decoded.application_properties).toEqual({ title: 'Žluťoučký kůň', n: 1, h: 'v' });
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
