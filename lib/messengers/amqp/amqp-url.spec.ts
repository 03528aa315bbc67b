import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { resolveAmqpOptions } from './amqp-options.validation.js';
import { parseBrokerUrl, redactUrl } from './amqp-url.js';

function optionsError(run: () => unknown): MessagingOptionsError {
  try {
    run();
  } catch (error) {
    if (error instanceof MessagingOptionsError) return error;
    throw error;
  }
  throw new Error('expected a MessagingOptionsError');
}

describe('AMQP broker URLs', () => {
  it('masks the password of any URL, parsable or not', () => {
    expect(redactUrl('amqp://guest:guest@host:5672/vh')).toBe('amqp://guest:***@host:5672/vh');
    expect(redactUrl('amqps://u:p%40ss@h')).toBe('amqps://u:***@h');
    expect(redactUrl('amqp://host:5672')).toBe('amqp://host:5672');
    expect(redactUrl('amqp://user@host')).toBe('amqp://user@host');
    expect(redactUrl('amqp://u:s3cret@[not a host')).toBe('amqp://u:***@[not a host');
  });

  it('masks all of a password holding an unencoded @, /, # or ?', () => {
    expect(redactUrl('amqp://u:s3c@ret@host:5672/vh')).toBe('amqp://u:***@host:5672/vh');
    for (const url of ['amqp://u:s3cr/et@host', 'amqp://u:s3cr#et@host', 'amqp://u:s3cr?et@host'])
      expect(redactUrl(url)).toBe('amqp://u:***@host');
    expect(redactUrl('amqp://host:5672/vh')).toBe('amqp://host:5672/vh');
  });

  it("uses the URL's credentials and virtual host (percent-decoded) and shows the URL redacted", () => {
    expect(parseBrokerUrl('amqp://svc:p%40ss@broker:5682/tenant-1', 0, {})).toEqual({
      url: 'amqp://svc:***@broker:5682/tenant-1',
      host: 'broker',
      port: 5682,
      tls: false,
      username: 'svc',
      password: 'p@ss',
      vhost: 'tenant-1',
    });
    expect(parseBrokerUrl('amqps://broker/%2F', 0, { username: 'a', password: 'b' })).toMatchObject({
      port: 5671,
      username: 'a',
      password: 'b',
      vhost: '/',
    });
    expect(parseBrokerUrl('amqp://broker', 0, { vhost: 'v' })).toMatchObject({ vhost: 'v', username: undefined });
    expect(parseBrokerUrl('amqp://broker/', 0, {})).toMatchObject({ vhost: undefined });
  });

  it('refuses, naming the option and never the password, a URL that contradicts the options', () => {
    const error = optionsError(() =>
      resolveAmqpOptions({
        urls: ['amqp://nobody:wrong-pw@127.0.0.1:5672/a', 'amqp://guest:guest-pw@h/a/b', 'http://u:leak-pw@h'],
        username: 'guest',
        password: 'guest-pw',
        vhost: 'b',
      }),
    );
    expect(error.issues).toEqual([
      'urls[0]: its user name "nobody" differs from the username option "guest"; set it in one place',
      'urls[0]: its password differs from the password option; set it in one place',
      'urls[0]: its virtual host "a" differs from the vhost option "b"; set it in one place',
      'urls[1]: the path of amqp://guest:***@h/a/b must be one virtual host name, percent-encoded (%2F for /)',
      'urls[2]: "http://u:***@h" is not an amqp:// or amqps:// URL',
    ]);
    expect(error.message).not.toMatch(/wrong-pw|guest-pw|leak-pw/);
  });

  it('accepts a URL that repeats the options, and refuses an empty vhost option', () => {
    const resolved = resolveAmqpOptions({
      urls: ['amqp://guest:pw@h/v'],
      username: 'guest',
      password: 'pw',
      vhost: 'v',
    });
    expect(resolved.targets[0]).toMatchObject({ url: 'amqp://guest:***@h/v', username: 'guest', vhost: 'v' });
    expect(optionsError(() => resolveAmqpOptions({ urls: ['amqp://h'], vhost: '' })).issues).toEqual([
      'vhost: expected a virtual host name such as "/" or "tenant-1"',
    ]);
  });
});
