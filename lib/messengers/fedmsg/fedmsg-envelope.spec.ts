import { createMessage } from '../../kernel/message.factory.js';
import { canonicalJson } from './canonical-json.js';
import { encodeEnvelope, fedmsgEnvelope, fedmsgTopic } from './fedmsg-envelope.js';

const SCHEME = { topicPrefix: 'org.fedoraproject', environment: 'prod', modname: 'pdc' };

describe('fedmsg envelope', () => {
  it.each([
    ['.compose', 'org.fedoraproject.prod.pdc.compose'],
    ['.releases.added', 'org.fedoraproject.prod.pdc.releases.added'],
    ['rpms.', 'org.fedoraproject.prod.pdc.rpms'],
    ['..a.b..', 'org.fedoraproject.prod.pdc.a.b'],
    ['org.fedoraproject.stg.other.thing', 'org.fedoraproject.stg.other.thing'],
    ['org.fedoraprojectx.thing', 'org.fedoraproject.prod.pdc.org.fedoraprojectx.thing'],
  ])('topic %s becomes %s', (topic, expected) => {
    expect(fedmsgTopic(topic, SCHEME)).toBe(expected);
  });

  it('builds { topic, msg, timestamp, msg_id, i, username } from the message', () => {
    const message = createMessage('.compose', { compose_id: 'c-1' });
    const envelope = fedmsgEnvelope(message, 'org.fedoraproject.prod.pdc.compose', 7, 'pdc');
    expect(envelope).toEqual({
      topic: 'org.fedoraproject.prod.pdc.compose',
      msg: { compose_id: 'c-1' },
      timestamp: Math.floor(message.timestamp / 1000),
      msg_id: `${new Date(message.timestamp).getFullYear()}-${message.id}`,
      i: 7,
      username: 'pdc',
    });
    expect(Number.isInteger(envelope.timestamp)).toBe(true);
  });

  it('keeps msg_id and timestamp when the same message is sent again later', () => {
    const message = createMessage('.compose', {});
    const first = fedmsgEnvelope(message, 't', 1, 'u');
    const again = fedmsgEnvelope(message, 't', 2, 'u');
    expect(again.msg_id).toBe(first.msg_id);
    expect(again.timestamp).toBe(first.timestamp);
    expect(first.msg_id).toMatch(/^\d{4}-[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('encodes an envelope exactly as canonicalJson does, signed or not', () => {
    const message = createMessage('.compose', { z: 'ž', a: [1, { c: null, b: true }], '🚢': 0.25 });
    const envelope = fedmsgEnvelope(message, 'org.fedoraproject.dev.pdc.compose', 12, 'pdc "bot"');
    expect(encodeEnvelope(envelope)).toBe(canonicalJson(envelope));
    const signed = { ...envelope, crypto: 'x509' as const, signature: 'c2ln\n', certificate: 'Y2VydA==\n' };
    expect(encodeEnvelope(signed)).toBe(canonicalJson(signed));
  });
});
