import { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import rhea from 'rhea';
import { createMessage } from 'nestjs-messaging';
import {
  AMQP_ADDRESS,
  AmqpConnectionError,
  AmqpConnectionRefusedError,
  AmqpMessenger,
  type AmqpMessengerOptions,
} from 'nestjs-messaging/amqp';
import { brokers, consume, declareTopicQueue, lockProjectNode, projectNodeEval } from './support/brokers.js';
import { createTestPki, type TestPki } from './support/test-pki.js';

Logger.overrideLogger(['error']);

// SASL EXTERNAL against the project node's TLS listener (client certificate required;
// rabbitmq_auth_mechanism_ssl, the user is the certificate's CN; user pdc-client has no password).
const { project } = brokers();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let pki: TestPki;
let strangerDir: string;
let unlockProjectNode: (() => void) | undefined;
beforeAll(async () => {
  unlockProjectNode = await lockProjectNode();
  pki = createTestPki();
  // A certificate the broker's own CA signed, for a CN that is no user of the broker.
  strangerDir = mkdtempSync(join(tmpdir(), 'nestjs-messaging-stranger-'));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: strangerDir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'stranger.key',
    '-out',
    'stranger.csr',
    '-subj',
    '/CN=nobody-here',
  );
  writeFileSync(join(strangerDir, 'stranger.ext'), 'extendedKeyUsage=clientAuth\n');
  run(
    'x509',
    '-req',
    '-in',
    'stranger.csr',
    '-CA',
    project.pki.ca,
    '-CAkey',
    project.pki.ca.replace(/\.crt$/, '.key'),
    '-CAcreateserial',
    '-CAserial',
    join(strangerDir, 'ca.srl'),
    '-days',
    '1',
    '-sha256',
    '-extfile',
    'stranger.ext',
    '-out',
    'stranger.crt',
  );
}, 120_000);
afterAll(() => {
  pki.remove();
  rmSync(strangerDir, { recursive: true, force: true });
  unlockProjectNode?.();
});

async function messenger(options: Partial<AmqpMessengerOptions>): Promise<AmqpMessenger> {
  const instance = new AmqpMessenger({
    urls: [project.tlsUrl],
    address: AMQP_ADDRESS.rabbitmq3,
    sasl: 'external',
    certificate: project.pki.clientCertificate,
    privateKey: project.pki.clientKey,
    caCertificate: project.pki.ca,
    connectionTimeout: 5,
    ...options,
  });
  await instance.onModuleInit();
  cleanups.push(() => instance.onApplicationShutdown());
  return instance;
}

async function connectionError(sending: Promise<void>): Promise<AmqpConnectionError> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof AmqpConnectionError) return error;
    throw error;
  }
  throw new Error('expected send() to fail to connect');
}

/**
 * The users RabbitMQ authenticated the project node's open connections on the TLS port as (its
 * connection tracking; 3.10's `list_connections` does not show AMQP 1.0 connections), once
 * `expected` is among them or after 10 s: tracking records a connection asynchronously.
 */
async function tlsConnectionUsers(expected: string): Promise<string> {
  const port = new URL(project.tlsUrl).port;
  const expression = `[element(11, C) || C <- rabbit_connection_tracking:list(), binary:match(element(5, C), <<"-> 127.0.0.1:${port}">>) =/= nomatch].`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const users = await projectNodeEval(expression);
    if (users.includes(expected) || Date.now() > deadline) return users;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('AmqpMessenger with SASL EXTERNAL (project node, TLS with client certificates)', () => {
  it("authenticates as the certificate's CN, and the message arrives", async () => {
    const queue = 'sasl-external-test';
    await declareTopicQueue(project.url, queue, 'external.check');
    const amqp = await messenger({});
    const message = createMessage('external.check', { n: 1, via: 'EXTERNAL' });
    await amqp.send([message]);
    expect(amqp.state.status).toBe('connected');
    expect(await tlsConnectionUsers('pdc-client')).toBe('[<<"pdc-client">>]');
    const [received] = await consume(project.url, queue, 1);
    expect(received.message_id).toBe(message.id);
    expect(JSON.parse(received.body as string)).toEqual(message.body);
  });

  it("with sasl 'auto' the same certificate sends no SASL layer: RabbitMQ's AMQP 1.0 default user, not the CN", async () => {
    const amqp = await messenger({ sasl: 'auto' });
    await amqp.send([createMessage('external.check', { n: 2 })]);
    expect(await tlsConnectionUsers('guest')).toBe('[<<"guest">>]');
  });

  it('refuses, saying why, a certificate from the right CA whose CN is no user of the broker', async () => {
    const amqp = await messenger({
      certificate: join(strangerDir, 'stranger.crt'),
      privateKey: join(strangerDir, 'stranger.key'),
      reconnectDelayMaxMs: 60_000,
    });
    const error = await connectionError(amqp.send([createMessage('external.check', {})]));
    expect(error).toBeInstanceOf(AmqpConnectionRefusedError);
    expect(error.attempts).toEqual([
      {
        url: project.tlsUrl,
        condition: 'amqp:unauthorized-access',
        reason: expect.stringMatching(
          /the broker did not accept the client certificate's user for SASL EXTERNAL; check that the broker knows that user/,
        ),
      },
    ]);
    expect(amqp.state.status).toBe('refused');
  });

  it('fails clearly with a client certificate from another CA', async () => {
    const amqp = await messenger({ certificate: pki.otherCertificate, privateKey: pki.otherPrivateKey });
    const error = await connectionError(amqp.send([createMessage('external.check', {})]));
    expect(error.attempts).toEqual([
      {
        url: project.tlsUrl,
        reason: expect.stringMatching(
          /^TLS: the broker refused our client certificate \(unknown ca\); set certificate/,
        ),
      },
    ]);
  });

  it("fails clearly when caCertificate is not the broker's CA", async () => {
    const amqp = await messenger({ caCertificate: project.pki.otherCa });
    const error = await connectionError(amqp.send([createMessage('external.check', {})]));
    expect(error.attempts[0].reason).toMatch(
      /^TLS: the broker's certificate was not accepted \(SELF_SIGNED_CERT_IN_CHAIN.*check caCertificate$/,
    );
  });

  it('is refused, naming what the broker offers, by a broker without EXTERNAL (in-process rhea TLS listener)', async () => {
    const server = rhea.create_container({ id: 'plain-only-broker' });
    (server.sasl_server_mechanisms as { enable_plain(check: () => boolean): void }).enable_plain(() => true);
    const listener = server.listen({
      port: 0,
      host: '127.0.0.1',
      transport: 'tls',
      key: pki.read(pki.privateKey),
      cert: pki.read(pki.certificate),
      ca: pki.read(pki.caCertificate),
      requestCert: true,
      rejectUnauthorized: true,
    });
    cleanups.push(
      () =>
        new Promise((resolve) => {
          listener.close(() => {
            resolve();
          });
        }),
    );
    await new Promise((resolve) => listener.once('listening', resolve));
    const amqp = await messenger({
      urls: [`amqps://localhost:${(listener.address() as AddressInfo).port}`],
      certificate: pki.certificate,
      privateKey: pki.privateKey,
      caCertificate: pki.caCertificate,
    });
    const error = await connectionError(amqp.send([createMessage('external.check', {})]));
    expect(error).toBeInstanceOf(AmqpConnectionRefusedError);
    expect(error.attempts[0]).toMatchObject({
      condition: 'amqp:unauthorized-access',
      reason:
        'the broker refused the connection: amqp:unauthorized-access: No suitable mechanism; server supports PLAIN',
    });
  });

  it('refuses to start without a client certificate', () => {
    expect(
      () => new AmqpMessenger({ urls: [project.tlsUrl], sasl: 'external', caCertificate: project.pki.ca }),
    ).toThrow('sasl: "external" authenticates with the client certificate: set certificate (and privateKey)');
  });
});
