import { userInfo } from 'node:os';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import type { FedmsgMessengerOptions } from './fedmsg-options.interface.js';
import { resolveFedmsgOptions } from './fedmsg-options.validation.js';

function issuesOf(options: unknown): readonly string[] {
  try {
    resolveFedmsgOptions(options as FedmsgMessengerOptions);
  } catch (error) {
    if (error instanceof MessagingOptionsError) return error.issues;
    throw error;
  }
  return [];
}

describe('resolveFedmsgOptions', () => {
  it("applies fedmsg's defaults", () => {
    expect(resolveFedmsgOptions({ endpoints: ['tcp://*:3000'] })).toEqual({
      endpoints: ['tcp://*:3000'],
      active: false,
      topicPrefix: 'org.fedoraproject',
      environment: 'dev',
      modname: 'pdc',
      username: userInfo().username,
      highWaterMark: 0,
      lingerMs: 1000,
      tcpKeepalive: true,
      tcpKeepaliveCount: 3,
      tcpKeepaliveIdleSeconds: 60,
      tcpKeepaliveIntervalSeconds: 5,
      reconnectIntervalMs: 100,
      reconnectIntervalMaxMs: 1000,
      joinTimeoutMs: 500,
      sign: undefined,
    });
  });

  it.each([
    'tcp://*:3000',
    'tcp://127.0.0.1:*',
    'tcp://[::1]:9940',
    'tcp://pdc.example.com:3001',
    'ipc:///run/pdc.sock',
    'inproc://pdc',
  ])('accepts endpoint %s', (endpoint) => {
    expect(issuesOf({ endpoints: [endpoint] })).toEqual([]);
  });

  it('names every invalid option', () => {
    expect(
      issuesOf({
        endpoints: ['http://pdc:3000', 'tcp://host:70000', 'tcp://host'],
        environment: 'prod env',
        highWaterMark: -1,
        joinTimeoutMs: 0.5,
        sign: { certificate: '' },
      }),
    ).toEqual([
      'endpoints[0]: "http://pdc:3000" is not a ZeroMQ endpoint (tcp://host:port, ipc://path, inproc://name)',
      'endpoints[1]: "tcp://host:70000" is not a ZeroMQ endpoint (tcp://host:port, ipc://path, inproc://name)',
      'endpoints[2]: "tcp://host" is not a ZeroMQ endpoint (tcp://host:port, ipc://path, inproc://name)',
      'environment: expected dot-separated words of letters, digits, "-" or "_", got "prod env"',
      'highWaterMark: expected a whole number >= 0, got -1',
      'joinTimeoutMs: expected a whole number >= 0, got 0.5',
      'sign.certificate: expected the path of a PEM file',
      'sign.privateKey: expected the path of a PEM file',
    ]);
  });

  it('requires at least one endpoint', () => {
    expect(issuesOf({ endpoints: [] })).toEqual([
      'endpoints: expected at least one ZeroMQ endpoint, such as "tcp://*:3000"',
    ]);
  });
});
