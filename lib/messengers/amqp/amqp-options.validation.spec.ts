import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { createTestPki, type TestPki } from '../../../test/support/test-pki.js';
import { resolveAmqpOptions } from './amqp-options.validation.js';

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => {
  pki.remove();
});

function issuesOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof MessagingOptionsError) return error.message;
    throw error;
  }
  throw new Error('expected a MessagingOptionsError');
}

describe('resolveAmqpOptions: body and sasl', () => {
  it('defaults to an amqp-value body and SASL from the credentials (auto)', () => {
    const resolved = resolveAmqpOptions({ urls: ['amqp://broker'] });
    expect(resolved.body).toBe('amqp-value');
    expect(resolved.sasl).toBe('auto');
  });

  it('takes body "data" and sasl "external" with a client certificate over amqps://', () => {
    const resolved = resolveAmqpOptions({
      urls: ['amqps://broker:5671'],
      body: 'data',
      sasl: 'external',
      certificate: pki.certificate,
      privateKey: pki.privateKey,
      caCertificate: pki.caCertificate,
    });
    expect(resolved).toMatchObject({ body: 'data', sasl: 'external' });
    expect(resolved.targets[0].username).toBeUndefined();
  });

  it('refuses an unknown body or sasl value, naming the option', () => {
    const message = issuesOf(() =>
      resolveAmqpOptions({ urls: ['amqp://broker'], body: 'text' as 'data', sasl: 'PLAIN' as 'auto' }),
    );
    expect(message).toContain('body: expected "amqp-value" or "data", got "text"');
    expect(message).toContain('sasl: expected "auto" or "external", got "PLAIN"');
  });

  it('refuses sasl "external" without a client certificate', () => {
    expect(issuesOf(() => resolveAmqpOptions({ urls: ['amqps://broker'], sasl: 'external' }))).toContain(
      'sasl: "external" authenticates with the client certificate: set certificate (and privateKey)',
    );
  });

  it('refuses sasl "external" with a username or password, in the options or a URL', () => {
    const identity = { certificate: pki.certificate, privateKey: pki.privateKey, sasl: 'external' as const };
    expect(
      issuesOf(() =>
        resolveAmqpOptions({ urls: ['amqps://broker'], username: 'app', password: 'secret', ...identity }),
      ),
    ).toContain('sasl: "external" takes the user from the client certificate: remove username and password');
    expect(issuesOf(() => resolveAmqpOptions({ urls: ['amqps://a', 'amqps://app:secret@b'], ...identity }))).toContain(
      'sasl: "external" takes the user from the client certificate: remove the credentials from amqps://app:***@b',
    );
  });

  it('refuses sasl "external" on a plain amqp:// URL (no TLS, no certificate to present)', () => {
    const message = issuesOf(() =>
      resolveAmqpOptions({
        urls: ['amqp://broker'],
        sasl: 'external',
        certificate: pki.certificate,
        privateKey: pki.privateKey,
      }),
    );
    expect(message).toContain(
      'urls: amqp://broker would connect without TLS although certificates are set; use amqps://',
    );
  });
});

describe('resolveAmqpOptions: no options at all', () => {
  it('names urls instead of failing with a TypeError (MessagingModule.forRoot({ messenger: AmqpMessenger }) builds it without options)', () => {
    expect(issuesOf(() => resolveAmqpOptions(undefined as never))).toContain('urls: expected at least one');
  });
});
