import pg from 'pg';
import { createServer } from 'node:net';
import { Subscriber } from 'zeromq';
import { verifyFedmsgSignature } from 'nestjs-messaging/fedmsg';
import { request } from './support/http-app.js';
import { startSampleApp, stop } from './support/sample-app-process.js';
import { nextEvent } from './support/zmq-events.js';
import { brokers, consume, declareTopicQueue } from './support/brokers.js';
import { createTestPki } from './support/test-pki.js';
import { dropPostgresOutbox } from './support/outbox-store-kinds.js';

describe('the built sample app, as `npm start` runs it', () => {
  it('logs the messages of successful requests on the default messenger, none for a failed one', async () => {
    const app = await startSampleApp({});
    try {
      const release = { short: 'rhel', version: '10', name: 'RHEL' };
      expect(
        (await request(app.url, 'POST', '/releases', { body: release, headers: { authorization: 'Bearer ann' } }))
          .status,
      ).toBe(201);
      expect((await request(app.url, 'POST', '/releases', { body: release })).status).toBe(409);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const logged = app.output();
      expect(logged.match(/Message on \.releases\.added/g)).toHaveLength(1);
      expect(logged).toContain('"author": "ann"');
      expect(logged).toContain('"release_id": "rhel-10"');
    } finally {
      await stop(app.child);
    }
  });

  it('with MESSAGE_OUTBOX=postgres, creates its outbox table, stores and delivers through it', async () => {
    const table = `sample_outbox_${String(process.pid)}`;
    const url = brokers().postgres.url;
    const app = await startSampleApp({
      MESSAGE_OUTBOX: 'postgres',
      MESSAGE_OUTBOX_URL: url,
      MESSAGE_OUTBOX_TABLE: table,
    });
    const admin = new pg.Pool({ connectionString: url });
    try {
      const release = { short: 'centos', version: '10', name: 'CentOS' };
      expect((await request(app.url, 'POST', '/releases', { body: release })).status).toBe(201);
      for (let tries = 0; !/Message on \.releases\.added/.test(app.output()) && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(app.output()).toContain('"release_id": "centos-10"');
      // Delivered messages are deleted (no retention): the table exists and is empty.
      expect((await admin.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]).toEqual({ n: 0 });
      expect((await request(app.url, 'GET', '/admin/outbox')).body).toMatchObject({
        stored: { pending: 0 },
        sinceStart: { accepted: 1, delivered: 1 },
      });
    } finally {
      await stop(app.child);
      await dropPostgresOutbox(table);
      await admin.end();
    }
  });

  it('refuses MESSAGE_OUTBOX=postgres without MESSAGE_OUTBOX_URL at start-up, naming the variable', async () => {
    await expect(startSampleApp({ MESSAGE_OUTBOX: 'postgres' })).rejects.toThrow(
      'MESSAGE_OUTBOX_URL: required with MESSAGE_OUTBOX=postgres',
    );
  });

  it('refuses an unknown MESSAGE_BUS_BACKEND at start-up, naming the variable', async () => {
    await expect(startSampleApp({ MESSAGE_BUS_BACKEND: 'carrier-pigeon' })).rejects.toThrow(
      'MESSAGE_BUS_BACKEND: unknown back-end "carrier-pigeon"',
    );
  });
});

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

describe('the built sample app with MESSAGE_BUS_BACKEND=fedmsg', () => {
  it('publishes signed fedmsg messages for successful requests, nothing for the failed one', async () => {
    const pki = createTestPki();
    const port = await freePort();
    const app = await startSampleApp({
      MESSAGE_BUS_BACKEND: 'fedmsg',
      FEDMSG_ENDPOINT: `tcp://127.0.0.1:${port}`,
      FEDMSG_ENVIRONMENT: 'stg',
      FEDMSG_CERTIFICATE: pki.certificate,
      FEDMSG_PRIVATE_KEY: pki.privateKey,
    });
    const subscriber = new Subscriber({ linger: 0 });
    try {
      const connected = nextEvent(subscriber, 'connect');
      subscriber.connect(`tcp://127.0.0.1:${port}`);
      subscriber.subscribe('org.fedoraproject.stg.pdc.');
      await connected;
      const release = { short: 'epel', version: '10', name: 'EPEL' };
      expect((await request(app.url, 'POST', '/releases', { body: release })).status).toBe(201);
      expect((await request(app.url, 'POST', '/releases', { body: release })).status).toBe(409);
      const compose = { release: 'epel-10', compose_date: '20261128' };
      expect((await request(app.url, 'POST', '/composes', { body: compose })).status).toBe(201);
      const received: [string, Record<string, unknown>][] = [];
      for (let n = 0; n < 2; n++) {
        const [topic, body] = await subscriber.receive();
        received.push([topic.toString(), JSON.parse(body.toString()) as Record<string, unknown>]);
      }
      expect(received.map(([topic]) => topic)).toEqual([
        'org.fedoraproject.stg.pdc.releases.added',
        'org.fedoraproject.stg.pdc.compose',
      ]);
      expect(received[0][1]).toMatchObject({ i: 1, msg: { new_value: { release_id: 'epel-10' }, author: '' } });
      expect(received[1][1]).toMatchObject({ i: 2, msg: { action: 'create', compose_id: 'epel-10-20261128.0' } });
      for (const [, envelope] of received) {
        expect(verifyFedmsgSignature(envelope, pki.read(pki.caCertificate))).toEqual({ valid: true });
      }
      // Nothing else: the 409 request sent nothing.
      const extra = await Promise.race([
        subscriber.receive().then(() => 'extra message'),
        new Promise((resolve) =>
          setTimeout(() => {
            resolve('none');
          }, 300),
        ),
      ]);
      expect(extra).toBe('none');
    } finally {
      subscriber.close();
      await stop(app.child);
      pki.remove();
    }
  });

  it('refuses a bad FEDMSG_ENDPOINT at start-up, naming the option', async () => {
    await expect(startSampleApp({ MESSAGE_BUS_BACKEND: 'fedmsg', FEDMSG_ENDPOINT: 'http://nope' })).rejects.toThrow(
      'endpoints[0]: "http://nope" is not a ZeroMQ endpoint',
    );
  });
});

describe('the built sample app with MESSAGE_BUS_BACKEND=amqp', () => {
  it('delivers its messages to RabbitMQ over AMQP 1.0, nothing for the failed request', async () => {
    const { shared } = brokers();
    const queue = 'Consumer.sample.VirtualTopic.eng.pdc.releases';
    await declareTopicQueue(shared.url, queue, 'eng.pdc.releases.*');
    const app = await startSampleApp({
      MESSAGE_BUS_BACKEND: 'amqp',
      MESSAGE_BUS_URLS: shared.url,
      MESSAGE_BUS_ADDRESS: '/topic/{prefix}{topic}',
      MESSAGE_BUS_TOPIC_PREFIX: 'eng.pdc',
      MESSAGE_BUS_CONNECTION_TIMEOUT: '5',
      MESSAGE_BUS_USERNAME: shared.username,
      MESSAGE_BUS_PASSWORD: shared.password,
    });
    try {
      const release = { short: 'rhel', version: '11', name: 'RHEL' };
      const headers = { authorization: 'Bearer carol', 'PDC-Change-Comment': 'GA' };
      expect((await request(app.url, 'POST', '/releases', { body: release, headers })).status).toBe(201);
      expect((await request(app.url, 'POST', '/releases', { body: release })).status).toBe(409);
      expect((await request(app.url, 'PATCH', '/releases/rhel-11', { body: { active: false } })).status).toBe(200);
      const received = await consume(shared.url, queue, 2);
      expect(received.map((message) => message.subject)).toEqual(['.releases.added', '.releases.changed']);
      expect(received[0].application_properties).toMatchObject({
        author: 'carol',
        comment: 'GA',
        'DATA:release_id': 'rhel-11',
        url: expect.stringMatching(/\/releases\/rhel-11$/),
      });
    } finally {
      await stop(app.child);
    }
  });

  it('refuses a missing MESSAGE_BUS_URLS at start-up, naming the option', async () => {
    await expect(startSampleApp({ MESSAGE_BUS_BACKEND: 'amqp' })).rejects.toThrow(
      'urls: expected at least one amqp:// or amqps:// URL',
    );
  });
});
