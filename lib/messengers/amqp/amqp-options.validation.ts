import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import {
  AMQP_ADDRESS,
  type AmqpMessengerOptions,
  type BrokerTarget,
  type ResolvedAmqpOptions,
} from './amqp-options.interface.js';
import { parseBrokerUrl } from './amqp-url.js';

const SUBJECT = 'AmqpMessenger options';
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Applies defaults, parses URLs and reads the PEM files, listing every
 * problem at once: a wrong path or a key that does not match its
 * certificate fails at start-up, not on the first request.
 */
export function resolveAmqpOptions(given: AmqpMessengerOptions): ResolvedAmqpOptions {
  const issues: string[] = [];
  // Plain JavaScript, or Nest building the class itself (`messenger: AmqpMessenger`), may pass nothing.
  const loose: unknown = given;
  const options = (loose ?? {}) as AmqpMessengerOptions;
  const urls: unknown = (options as { urls?: unknown }).urls;
  const targets: BrokerTarget[] = [];
  if (!Array.isArray(urls) || urls.length === 0) {
    issues.push('urls: expected at least one amqp:// or amqps:// URL');
  } else {
    const shared = { username: options.username, password: options.password, vhost: options.vhost };
    urls.forEach((url: unknown, index) => {
      const target = parseBrokerUrl(url, index, shared);
      if (Array.isArray(target)) issues.push(...target);
      else targets.push(target);
    });
  }
  const tls: { ca?: string; cert?: string; key?: string } = {};
  if (options.caCertificate !== undefined) {
    const ca = readPem(options.caCertificate, 'caCertificate', issues);
    if (ca !== undefined && certificatesIn(ca).length === 0)
      issues.push(`caCertificate: ${options.caCertificate} holds no PEM certificate`);
    else if (ca !== undefined) tls.ca = ca;
  }
  if (options.certificate !== undefined) {
    const text = readPem(options.certificate, 'certificate', issues);
    const keyText = options.privateKey === undefined ? text : readPem(options.privateKey, 'privateKey', issues);
    if (text !== undefined && keyText !== undefined) {
      loadClientIdentity(options.certificate, text, options.privateKey ?? options.certificate, keyText, tls, issues);
    }
  } else if (options.privateKey !== undefined) {
    issues.push('privateKey: set certificate too (the client certificate this key belongs to)');
  }
  if ((tls.cert !== undefined || tls.ca !== undefined) && targets.some((target) => !target.tls)) {
    const plain = targets.filter((target) => !target.tls).map((target) => target.url);
    issues.push(`urls: ${plain.join(', ')} would connect without TLS although certificates are set; use amqps://`);
  }
  const address = options.address ?? AMQP_ADDRESS.activemq;
  if (typeof address !== 'string' || !address.includes('{topic}')) {
    issues.push(`address: expected a template containing {topic}, such as "${AMQP_ADDRESS.rabbitmq3}"`);
  }
  const resolved: ResolvedAmqpOptions = {
    targets,
    connectionTimeoutMs: seconds(options.connectionTimeout ?? 60, 'connectionTimeout', issues),
    tls,
    topicPrefix: options.topicPrefix ?? '',
    address,
    verifyHostname: options.verifyHostname ?? true,
    sendTimeoutMs: positiveInteger(options.sendTimeoutMs ?? 30_000, 'sendTimeoutMs', issues),
    reconnectDelayMs: positiveInteger(options.reconnectDelayMs ?? 500, 'reconnectDelayMs', issues),
    reconnectDelayMaxMs: positiveInteger(options.reconnectDelayMaxMs ?? 30_000, 'reconnectDelayMaxMs', issues),
    containerId: options.containerId ?? `nestjs-messaging-${hostname()}-${process.pid}`,
    idleLinkTimeoutMs: positiveInteger(options.idleLinkTimeoutMs ?? 60_000, 'idleLinkTimeoutMs', issues),
    maxLinks: positiveInteger(options.maxLinks ?? 64, 'maxLinks', issues),
    sasl: oneOf(options.sasl ?? 'auto', ['auto', 'external'], 'sasl', issues),
    body: oneOf(options.body ?? 'amqp-value', ['amqp-value', 'data'], 'body', issues),
  };
  if (resolved.sasl === 'external') checkExternal(options, targets, issues);
  if (resolved.idleLinkTimeoutMs > MAX_TIMER_MS)
    issues.push(`idleLinkTimeoutMs: expected at most ${MAX_TIMER_MS} (a Node.js timer's limit)`);
  if (typeof resolved.topicPrefix !== 'string') issues.push('topicPrefix: expected a string');
  if (options.password !== undefined && options.username === undefined) issues.push('password: set username too');
  if (options.vhost !== undefined && (typeof options.vhost !== 'string' || options.vhost === ''))
    issues.push('vhost: expected a virtual host name such as "/" or "tenant-1"');
  if (typeof resolved.verifyHostname !== 'boolean') issues.push('verifyHostname: expected true or false');
  if (issues.length > 0) throw new MessagingOptionsError(issues, SUBJECT);
  return resolved;
}

/** SASL EXTERNAL authenticates with the client certificate, and with nothing else. */
function checkExternal(options: AmqpMessengerOptions, targets: readonly BrokerTarget[], issues: string[]): void {
  if (options.certificate === undefined)
    issues.push('sasl: "external" authenticates with the client certificate: set certificate (and privateKey)');
  const withCredentials = targets.filter((target) => target.username !== undefined).map((target) => target.url);
  if (options.username !== undefined || options.password !== undefined)
    issues.push('sasl: "external" takes the user from the client certificate: remove username and password');
  else if (withCredentials.length > 0)
    issues.push(
      `sasl: "external" takes the user from the client certificate: remove the credentials from ${withCredentials.join(', ')}`,
    );
}

function oneOf<T extends string>(value: T, allowed: readonly T[], option: string, issues: string[]): T {
  if (!allowed.includes(value))
    issues.push(`${option}: expected ${allowed.map((item) => `"${item}"`).join(' or ')}, got ${JSON.stringify(value)}`);
  return value;
}

function loadClientIdentity(
  certificatePath: string,
  certificateText: string,
  keyPath: string,
  keyText: string,
  tls: { cert?: string; key?: string },
  issues: string[],
): void {
  const certificates = certificatesIn(certificateText);
  const key = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/.exec(keyText)?.[0];
  if (certificates.length === 0) {
    issues.push(`certificate: ${certificatePath} holds no PEM certificate`);
    return;
  }
  if (key === undefined) {
    issues.push(
      keyPath === certificatePath
        ? `certificate: ${certificatePath} holds no private key; add it to the file or set privateKey`
        : `privateKey: ${keyPath} holds no PEM private key`,
    );
    return;
  }
  try {
    if (!new X509Certificate(certificates[0]).checkPrivateKey(createPrivateKey(key))) {
      issues.push(
        `${keyPath === certificatePath ? 'certificate' : 'privateKey'}: the key in ${keyPath} does not match the certificate in ${certificatePath}`,
      );
      return;
    }
  } catch (error) {
    issues.push(
      `certificate: ${certificatePath} does not parse (${error instanceof Error ? error.message : String(error)})`,
    );
    return;
  }
  tls.cert = certificates.join('\n');
  tls.key = key;
}

function certificatesIn(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function readPem(path: string, option: string, issues: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    issues.push(`${option}: cannot read ${path} (${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}

function seconds(value: number, option: string, issues: string[]): number {
  if (typeof value !== 'number' || !(value > 0)) {
    issues.push(`${option}: expected a number of seconds > 0, got ${JSON.stringify(value)}`);
    return 0;
  }
  return value * 1000;
}

function positiveInteger(value: number, option: string, issues: string[]): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    issues.push(`${option}: expected a whole number > 0, got ${JSON.stringify(value)}`);
  }
  return value;
}
