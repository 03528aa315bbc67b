import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import type {
  FedoraMessagingBroker,
  FedoraMessagingMessengerOptions,
  ResolvedFedoraMessagingOptions,
} from './fedora-messaging-options.interface.js';
import { FEDORA_MESSAGING_SEVERITIES, type WireSettings } from './fedora-messaging.wire-format.js';

const SUBJECT = 'FedoraMessagingMessenger options';
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A URL with its password replaced by `***`, for logs, errors and state. */
export function redactUrl(url: string): string {
  // Up to the last @ before the path (where the parser ends the password); failing that, up to
  // the last @ at all: an unencoded / # or ? in a password makes the URL unparsable, not public.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):(?:[^/?#]*|.*)@/i, '$1:***@');
}

/**
 * Applies defaults, parses the URLs and reads the PEM files, listing every
 * problem at once as `option: what is wrong`, so a configuration that
 * consumers would drop (a severity outside 10/20/30/40) or that cannot
 * connect fails at start-up.
 *
 * @throws MessagingOptionsError naming each invalid option.
 */
export function resolveFedoraMessagingOptions(
  options: FedoraMessagingMessengerOptions,
): ResolvedFedoraMessagingOptions {
  const issues: string[] = [];
  const loose: unknown = options;
  const given = (loose ?? {}) as Partial<FedoraMessagingMessengerOptions>;
  const brokers: FedoraMessagingBroker[] = [];
  if (!Array.isArray(given.urls) || given.urls.length === 0)
    issues.push('urls: expected at least one amqp:// or amqps:// URL');
  else
    given.urls.forEach((url: unknown, index) => {
      parseUrl(url, `urls[${index}]`, brokers, issues);
    });
  if (typeof given.app !== 'string' || given.app.trim() === '')
    issues.push("app: expected the application's name (client_properties.app, required by Fedora's broker policy)");
  const clientProperties: Record<string, string> = { ...given.clientProperties, app: String(given.app) };
  if (given.appVersion !== undefined) clientProperties.app_version = text(given.appVersion, 'appVersion', issues);
  for (const [key, value] of Object.entries(given.clientProperties ?? {}))
    if (typeof value !== 'string') issues.push(`clientProperties.${key}: expected a string`);
  const tls = readTls(given, issues);
  if ((tls.ca !== undefined || tls.cert !== undefined) && brokers.some((broker) => broker.protocol === 'amqp'))
    issues.push('urls: certificates are set, but some URLs are amqp://; use amqps:// so they are used');
  if (tls.cert !== undefined && brokers.some((broker) => broker.username !== undefined))
    issues.push('urls: a client certificate authenticates with SASL EXTERNAL; leave user and password out of the URLs');
  const wire: WireSettings = {
    topicPrefix: text(given.topicPrefix ?? '', 'topicPrefix', issues).replace(/\.+$/, ''),
    schema: nonEmpty(given.schema ?? 'base.message', 'schema', issues),
    ...(given.schemaPackage === undefined
      ? {}
      : { schemaPackage: nonEmpty(given.schemaPackage, 'schemaPackage', issues) }),
    severity: severity(given.severity ?? 20, 'severity', issues),
    ...(given.priority === undefined ? {} : { priority: priority(given.priority, issues) }),
    ...(given.filters === undefined ? {} : { filters: given.filters }),
  };
  if (given.filters !== undefined && typeof given.filters !== 'function')
    issues.push('filters: expected a function of the message returning { user?, group?, rpm?, ... }');
  const topics = new Map<string, WireSettings>();
  for (const [topic, override] of Object.entries(given.topics ?? {})) {
    const at = `topics[${JSON.stringify(topic)}]`;
    if (typeof override !== 'object' || (override as unknown) === null) {
      issues.push(`${at}: expected { schema?, schemaPackage?, severity? }, got ${JSON.stringify(override)}`);
      continue;
    }
    topics.set(topic.replace(/^\.+|\.+$/g, ''), {
      ...wire,
      ...(override.schema === undefined ? {} : { schema: nonEmpty(override.schema, `${at}.schema`, issues) }),
      ...(override.schemaPackage === undefined
        ? {}
        : { schemaPackage: nonEmpty(override.schemaPackage, `${at}.schemaPackage`, issues) }),
      ...(override.severity === undefined ? {} : { severity: severity(override.severity, `${at}.severity`, issues) }),
    });
  }
  const resolved: ResolvedFedoraMessagingOptions = {
    brokers,
    clientProperties,
    exchange: text(given.exchange ?? 'amq.topic', 'exchange', issues),
    wire,
    topics,
    mandatory: flag(given.mandatory ?? true, 'mandatory', issues),
    tls,
    verifyHostname: flag(given.verifyHostname ?? true, 'verifyHostname', issues),
    connectionTimeoutMs: milliseconds(given.connectionTimeoutMs ?? 10_000, 'connectionTimeoutMs', issues),
    sendTimeoutMs: milliseconds(given.sendTimeoutMs ?? 30_000, 'sendTimeoutMs', issues),
    reconnectDelayMs: milliseconds(given.reconnectDelayMs ?? 500, 'reconnectDelayMs', issues),
    reconnectDelayMaxMs: milliseconds(given.reconnectDelayMaxMs ?? 30_000, 'reconnectDelayMaxMs', issues),
    heartbeatSeconds: given.heartbeatSeconds ?? 30,
  };
  if (!Number.isInteger(resolved.heartbeatSeconds) || resolved.heartbeatSeconds < 0)
    issues.push(
      `heartbeatSeconds: expected a whole number of seconds >= 0, got ${JSON.stringify(given.heartbeatSeconds)}`,
    );
  if (issues.length > 0) throw new MessagingOptionsError(issues, SUBJECT);
  return resolved;
}

function parseUrl(url: unknown, at: string, brokers: FedoraMessagingBroker[], issues: string[]): void {
  if (typeof url !== 'string') {
    issues.push(`${at}: expected a URL string, got ${typeof url}`);
    return;
  }
  const shown = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    issues.push(`${at}: ${JSON.stringify(shown)} is not a URL`);
    return;
  }
  const protocol = parsed.protocol.replace(/:$/, '');
  if (protocol !== 'amqp' && protocol !== 'amqps') {
    issues.push(`${at}: ${JSON.stringify(shown)} is not an amqp:// or amqps:// URL`);
    return;
  }
  const path = parsed.pathname.replace(/^\//, '');
  if (parsed.hostname === '' || path.includes('/')) {
    issues.push(
      `${at}: ${JSON.stringify(shown)} needs a host and at most one path segment, the virtual host (%2F for /)`,
    );
    return;
  }
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  if (protocol === 'amqps' && isIP(hostname) !== 0 && Number(process.versions.node.split('.')[0]) >= 26) {
    // amqplib sends the URL's host as the TLS server name, which Node.js 26 refuses for an IP address.
    issues.push(
      `${at}: ${JSON.stringify(shown)} names an IP address; on Node.js 26 and later, amqps:// URLs must name the broker's host name (the one its certificate names)`,
    );
    return;
  }
  const username = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
  brokers.push({
    url: shown,
    protocol,
    hostname,
    port: parsed.port === '' ? (protocol === 'amqps' ? 5671 : 5672) : Number(parsed.port),
    ...(username === undefined ? {} : { username, password: decodeURIComponent(parsed.password) }),
    vhost: path === '' ? '/' : decodeURIComponent(path),
  });
}

function readTls(
  options: Partial<FedoraMessagingMessengerOptions>,
  issues: string[],
): { ca?: string; cert?: string; key?: string } {
  const tls: { ca?: string; cert?: string; key?: string } = {};
  const certificates = (pem: string): string[] =>
    pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (options.caCertificate !== undefined) {
    const ca = readPem(options.caCertificate, 'caCertificate', issues);
    if (ca !== undefined && certificates(ca).length === 0)
      issues.push(`caCertificate: ${options.caCertificate} holds no PEM certificate`);
    else tls.ca = ca;
  }
  if (options.certificate === undefined) {
    if (options.privateKey !== undefined) issues.push('privateKey: set certificate too');
    return tls;
  }
  const cert = readPem(options.certificate, 'certificate', issues);
  const keyOption = options.privateKey === undefined ? 'certificate' : 'privateKey';
  const keyText = options.privateKey === undefined ? cert : readPem(options.privateKey, 'privateKey', issues);
  if (cert === undefined || keyText === undefined) return tls;
  const key = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/.exec(keyText)?.[0];
  const first = certificates(cert).at(0);
  if (first === undefined) issues.push(`certificate: ${options.certificate} holds no PEM certificate`);
  else if (key === undefined)
    issues.push(`${keyOption}: no PEM private key in ${options.privateKey ?? options.certificate}`);
  else {
    try {
      if (new X509Certificate(first).checkPrivateKey(createPrivateKey(key))) {
        tls.cert = certificates(cert).join('\n');
        tls.key = key;
      } else issues.push(`${keyOption}: the private key does not match the certificate in ${options.certificate}`);
    } catch (error) {
      issues.push(`certificate: ${options.certificate} does not parse (${(error as Error).message})`);
    }
  }
  return tls;
}

function readPem(path: string, option: string, issues: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    issues.push(`${option}: cannot read ${path} (${(error as Error).message})`);
    return undefined;
  }
}

function text(value: unknown, option: string, issues: string[]): string {
  if (typeof value !== 'string') issues.push(`${option}: expected a string, got ${JSON.stringify(value)}`);
  return String(value);
}

function nonEmpty(value: unknown, option: string, issues: string[]): string {
  if (typeof value !== 'string' || value.trim() === '')
    issues.push(`${option}: expected a non-empty string, got ${JSON.stringify(value)}`);
  return String(value);
}

function severity(value: unknown, option: string, issues: string[]): 10 | 20 | 30 | 40 {
  if (!FEDORA_MESSAGING_SEVERITIES.includes(value as 10))
    issues.push(
      `${option}: expected 10, 20, 30 or 40 (fedora-messaging consumers drop any other), got ${JSON.stringify(value)}`,
    );
  return value as 10;
}

function priority(value: unknown, issues: string[]): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255)
    issues.push(`priority: expected a whole number from 0 to 255, got ${JSON.stringify(value)}`);
  return value as number;
}

function flag(value: unknown, option: string, issues: string[]): boolean {
  if (typeof value !== 'boolean') issues.push(`${option}: expected true or false, got ${JSON.stringify(value)}`);
  return value as boolean;
}

function milliseconds(value: unknown, option: string, issues: string[]): number {
  if (!Number.isInteger(value) || (value as number) <= 0 || (value as number) > MAX_TIMER_MS)
    issues.push(`${option}: expected a whole number of ms from 1 to ${MAX_TIMER_MS}, got ${JSON.stringify(value)}`);
  return value as number;
}
