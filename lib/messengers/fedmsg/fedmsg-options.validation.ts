import { userInfo } from 'node:os';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import type { FedmsgMessengerOptions, ResolvedFedmsgOptions } from './fedmsg-options.interface.js';

const TCP_ENDPOINT = /^tcp:\/\/(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[A-Za-z0-9.-]+;[A-Za-z0-9.-]+):(\d{1,5}|\*)$/;
const OTHER_ENDPOINT = /^(ipc|inproc):\/\/\S+$/;
const TOPIC_PART = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Applies fedmsg's defaults and checks every option, listing every problem at once. */
export function resolveFedmsgOptions(options: FedmsgMessengerOptions): ResolvedFedmsgOptions {
  const issues: string[] = [];
  const endpoints: unknown = (options as { endpoints?: unknown } | undefined)?.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    issues.push('endpoints: expected at least one ZeroMQ endpoint, such as "tcp://*:3000"');
  } else {
    endpoints.forEach((endpoint: unknown, index) => {
      if (typeof endpoint !== 'string' || !isEndpoint(endpoint)) {
        issues.push(
          `endpoints[${index}]: ${JSON.stringify(endpoint)} is not a ZeroMQ endpoint (tcp://host:port, ipc://path, inproc://name)`,
        );
      }
    });
  }
  const resolved: ResolvedFedmsgOptions = {
    endpoints: Array.isArray(endpoints) ? (endpoints as string[]) : [],
    active: options.active ?? false,
    topicPrefix: options.topicPrefix ?? 'org.fedoraproject',
    environment: options.environment ?? 'dev',
    modname: options.modname ?? 'pdc',
    username: options.username ?? userInfo().username,
    highWaterMark: options.highWaterMark ?? 0,
    lingerMs: options.lingerMs ?? 1000,
    tcpKeepalive: options.tcpKeepalive ?? true,
    tcpKeepaliveCount: options.tcpKeepaliveCount ?? 3,
    tcpKeepaliveIdleSeconds: options.tcpKeepaliveIdleSeconds ?? 60,
    tcpKeepaliveIntervalSeconds: options.tcpKeepaliveIntervalSeconds ?? 5,
    reconnectIntervalMs: options.reconnectIntervalMs ?? 100,
    reconnectIntervalMaxMs: options.reconnectIntervalMaxMs ?? 1000,
    joinTimeoutMs: options.joinTimeoutMs ?? 500,
    sign: options.sign,
  };
  if (typeof resolved.active !== 'boolean') issues.push('active: expected true or false');
  if (typeof resolved.tcpKeepalive !== 'boolean') issues.push('tcpKeepalive: expected true or false');
  for (const key of ['topicPrefix', 'environment', 'modname'] as const) {
    const value: unknown = resolved[key];
    if (typeof value !== 'string' || !TOPIC_PART.test(value)) {
      issues.push(`${key}: expected dot-separated words of letters, digits, "-" or "_", got ${JSON.stringify(value)}`);
    }
  }
  if (typeof resolved.username !== 'string' || resolved.username.length === 0) {
    issues.push('username: expected a non-empty string');
  }
  for (const key of [
    'highWaterMark',
    'lingerMs',
    'tcpKeepaliveCount',
    'tcpKeepaliveIdleSeconds',
    'tcpKeepaliveIntervalSeconds',
    'reconnectIntervalMs',
    'reconnectIntervalMaxMs',
    'joinTimeoutMs',
  ] as const) {
    const value: unknown = resolved[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      issues.push(`${key}: expected a whole number >= 0, got ${JSON.stringify(value)}`);
    }
  }
  const sign: unknown = resolved.sign;
  if (sign !== undefined) {
    if (sign === null || typeof sign !== 'object') {
      issues.push('sign: expected { certificate, privateKey } paths');
    } else {
      for (const key of ['certificate', 'privateKey'] as const) {
        const path: unknown = (sign as Record<string, unknown>)[key];
        if (typeof path !== 'string' || path.length === 0) issues.push(`sign.${key}: expected the path of a PEM file`);
      }
    }
  }
  if (issues.length > 0) throw new MessagingOptionsError(issues, 'FedmsgMessenger options');
  return resolved;
}

function isEndpoint(endpoint: string): boolean {
  const tcp = TCP_ENDPOINT.exec(endpoint);
  if (tcp) return tcp[2] === '*' || Number(tcp[2]) <= 65535;
  return OTHER_ENDPOINT.test(endpoint);
}
