import type { BrokerTarget } from './amqp-options.interface.js';

/** What the connection options say about every broker: the URL of each may say otherwise. */
export interface SharedConnectionOptions {
  readonly username?: string;
  readonly password?: string;
  readonly vhost?: string;
}

/**
 * A URL with its password replaced by `***` (`amqp://guest:***@host:5672`),
 * for logs, errors and state. Also masks a URL the WHATWG parser refuses.
 */
export function redactUrl(url: string): string {
  // Up to the last @ before the path (where the parser ends the password); failing that, up to
  // the last @ at all: an unencoded / # or ? in a password makes the URL unparsable, not public.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):(?:[^/?#]*|.*)@/i, '$1:***@');
}

/**
 * Parses one `amqp://` / `amqps://` URL, `urls[index]`. Its user name and
 * password (percent-decoded) are the credentials for that broker, and its
 * path the virtual host (one percent-encoded segment, `%2F` for `/`), sent
 * as the open frame's hostname `vhost:<name>` (RabbitMQ's convention). A
 * URL that sets one of them differently from the `username`, `password` or
 * `vhost` option is refused: the issue names both, never the password.
 * Returns the target (its `url` redacted) or the issues.
 */
export function parseBrokerUrl(url: unknown, index: number, shared: SharedConnectionOptions): BrokerTarget | string[] {
  const at = `urls[${index}]`;
  if (typeof url !== 'string') return [`${at}: expected a URL string, got ${typeof url}`];
  const shown = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [`${at}: ${JSON.stringify(shown)} is not a URL`];
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    return [`${at}: ${JSON.stringify(shown)} is not an amqp:// or amqps:// URL`];
  }
  const tls = parsed.protocol === 'amqps:';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return [`${at}: ${JSON.stringify(shown)} has no host`];
  const issues: string[] = [];
  const username = decode(parsed.username);
  const password = decode(parsed.password);
  const path = parsed.pathname.replace(/^\//, '');
  const vhost = path === '' ? undefined : decode(path);
  if (path.includes('/')) {
    issues.push(`${at}: the path of ${shown} must be one virtual host name, percent-encoded (%2F for /)`);
  }
  if (username !== undefined && shared.username !== undefined && username !== shared.username) {
    issues.push(
      `${at}: its user name "${username}" differs from the username option "${shared.username}"; set it in one place`,
    );
  }
  if (password !== undefined && shared.password !== undefined && password !== shared.password) {
    issues.push(`${at}: its password differs from the password option; set it in one place`);
  }
  if (vhost !== undefined && shared.vhost !== undefined && vhost !== shared.vhost && !path.includes('/')) {
    issues.push(
      `${at}: its virtual host "${vhost}" differs from the vhost option "${shared.vhost}"; set it in one place`,
    );
  }
  if (password !== undefined && username === undefined && shared.username === undefined) {
    issues.push(`${at}: a password without a user name; put "user:password@" in the URL`);
  }
  if (issues.length > 0) return issues;
  const target: BrokerTarget = {
    url: shown,
    host,
    port: parsed.port === '' ? (tls ? 5671 : 5672) : Number(parsed.port),
    tls,
    username: username ?? shared.username,
    password: password ?? shared.password,
    vhost: vhost ?? shared.vhost,
  };
  return target;
}

function decode(text: string): string | undefined {
  if (text === '') return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
