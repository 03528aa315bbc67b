import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import { createMessage } from 'nestjs-messaging';
import { FedoraMessagingMessenger, type FedoraMessagingMessengerOptions } from 'nestjs-messaging/fedora-messaging';
import { brokers, declareTopicQueue, lockProjectNode, projectNode } from './support/brokers.js';
import { FedoraMessagingConsumer } from './support/fedora-messaging-consumer.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

const project = brokers().project;
const plainUrl = project.url.replace('amqp://', 'amqp://guest:guest@');

let unlockProjectNode: (() => void) | undefined;
beforeAll(async () => {
  unlockProjectNode = await lockProjectNode();
  await projectNode('start'); // in case an earlier file left it stopped
}, 120_000);
afterAll(() => {
  unlockProjectNode?.();
});

const ctl = async (...args: string[]): Promise<string> =>
  (await promisify(execFile)('bash', [project.control, 'ctl', ...args])).stdout;

describe('FedoraMessagingMessenger on the project-owned node', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function started(options: Partial<FedoraMessagingMessengerOptions>): Promise<FedoraMessagingMessenger> {
    const messenger = new FedoraMessagingMessenger({
      urls: [project.tlsUrl],
      app: 'e2e-tls',
      appVersion: '1.2.3',
      caCertificate: project.pki.ca,
      certificate: project.pki.clientCertificate,
      privateKey: project.pki.clientKey,
      sendTimeoutMs: 5000,
      reconnectDelayMs: 200,
      reconnectDelayMaxMs: 1000,
      ...options,
    });
    await messenger.onModuleInit();
    cleanups.push(() => messenger.onApplicationShutdown());
    return messenger;
  }

  describe('TLS with a client certificate and SASL EXTERNAL', () => {
    it('connects as the certificate CN with EXTERNAL, sends app and app_version, and publishes', async () => {
      const key = `fmtls${randomUUID().slice(0, 8)}`;
      const reading = await new FedoraMessagingConsumer().start(plainUrl, `${key}.#`);
      cleanups.push(() => reading.close());
      const messenger = await started({});
      const message = createMessage(`.${key}.hello`, { a: 1 });
      await expect(messenger.send([message])).resolves.toBeUndefined();
      expect(messenger.state).toMatchObject({ status: 'connected', url: project.tlsUrl });
      await waitFor(() => reading.ids().includes(message.id), 5000, 'the message');
      const connections = await ctl('list_connections', 'user', 'auth_mechanism', 'ssl', 'client_properties');
      const mine = connections.split('\n').find((line) => line.includes('e2e-tls'));
      expect(mine).toMatch(/^pdc-client\s+EXTERNAL\s+true\s/);
      expect(mine).toContain('"app_version","1.2.3"');
    });

    it('fails clearly without a client certificate: state refused, TLS, with the reason', async () => {
      const messenger = await started({ certificate: undefined, privateKey: undefined });
      await expect(messenger.send([createMessage('.a', {})])).rejects.toThrow(/certificate required/);
      expect(messenger.state).toMatchObject({ status: 'refused', condition: 'tls', url: project.tlsUrl });
    });

    it('fails clearly when the CA does not match the broker', async () => {
      const messenger = await started({ caCertificate: project.pki.otherCa });
      await expect(messenger.send([createMessage('.a', {})])).rejects.toThrow(
        /self-signed certificate in certificate chain/,
      );
      expect(messenger.state).toMatchObject({ status: 'refused', condition: 'tls' });
    });

    it('checks the host name (the certificate names localhost only) unless verifyHostname is false', async () => {
      const byAddress = project.tlsUrl.replace('localhost', '127.0.0.1');
      if (Number(process.versions.node.split('.')[0]) >= 26) {
        // amqplib sends the host as TLS server name, which Node.js 26 refuses for an IP: refused at start-up.
        await expect(started({ urls: [byAddress] })).rejects.toThrow(
          /urls\[0\]: .* names an IP address; on Node.js 26/,
        );
        return;
      }
      const strict = await started({ urls: [byAddress] });
      await expect(strict.send([createMessage('.a', {})])).rejects.toThrow(/does not match certificate's altnames/);
      const lax = await started({ urls: [byAddress], verifyHostname: false, mandatory: false });
      await expect(lax.send([createMessage('.a', {})])).resolves.toBeUndefined();
    });
  });

  it('loses nothing that resolved across a broker restart mid-stream, and reconnects by itself', async () => {
    const queue = `fm-restart-${randomUUID().slice(0, 8)}`;
    await declareTopicQueue(project.url, queue, 'fmrestart.#');
    const messenger = await started({
      urls: [plainUrl],
      caCertificate: undefined,
      certificate: undefined,
      privateKey: undefined,
    });
    const resolved: string[] = [];
    const node = { restarted: false };
    let afterRestart = 0;
    let rejected = 0;
    const restart = (async () => {
      await waitFor(() => resolved.length >= 50, 10_000, 'a stream before the restart');
      await projectNode('stop');
      await projectNode('start');
      node.restarted = true;
    })();
    const deadline = Date.now() + 90_000;
    for (let n = 0; afterRestart < 50 && Date.now() < deadline; n++) {
      const batch = Array.from({ length: 5 }, (_, i) => createMessage('.fmrestart.stream', { n: n * 5 + i }));
      const outcome = await messenger.send(batch).then(
        () => 'resolved' as const,
        () => 'rejected' as const,
      );
      if (outcome === 'resolved') {
        resolved.push(...batch.map(({ id }) => id));
        if (node.restarted) afterRestart += batch.length;
      } else {
        rejected += batch.length;
        await new Promise((resolve) => setTimeout(resolve, 50)); // backing off, as delivery would
      }
    }
    await restart;
    expect(afterRestart).toBeGreaterThanOrEqual(50);
    expect(rejected).toBeGreaterThan(0); // the outage was seen: those batches stay in the outbox, retried
    expect(messenger.state.status).toBe('connected');
    const reading = await new FedoraMessagingConsumer().start(plainUrl, 'fmrestart.#', { existingQueue: queue });
    cleanups.push(() => reading.close());
    await waitFor(
      () => {
        const got = new Set(reading.ids());
        return resolved.every((id) => got.has(id));
      },
      15_000,
      `all ${resolved.length} resolved messages in ${queue}`,
    );
    await ctl('delete_queue', queue);
  }, 120_000);
});
