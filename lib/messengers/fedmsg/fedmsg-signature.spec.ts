import { execFileSync } from 'node:child_process';
import { createMessage } from '../../kernel/message.factory.js';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { createTestPki, type TestPki } from '../../../test/support/test-pki.js';
import { canonicalJson } from './canonical-json.js';
import { fedmsgEnvelope } from './fedmsg-envelope.js';
import { loadFedmsgSigner, signFedmsgEnvelope, verifyFedmsgSignature, wrap76 } from './fedmsg-signature.js';

/**
 * fedmsg's validation, in Python with the cryptography package: strip the
 * credentials, dumps() the rest, verify PKCS#1 v1.5 SHA-1 with the
 * certificate's key. An implementation independent of ours.
 */
function pythonVerifies(signedJson: string): string {
  const script = `
import base64, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
message = json.loads(sys.stdin.read())
assert all(line and len(line) <= 76 for line in message['signature'].split('\\n')[:-1]), 'signature lines'
assert message['signature'].endswith('\\n') and message['certificate'].endswith('\\n'), 'trailing newline'
signature = base64.b64decode(message.pop('signature'))
certificate = x509.load_pem_x509_certificate(base64.b64decode(message.pop('certificate')))
data = json.dumps(message, sort_keys=True, separators=(',', ':')).encode('utf-8')
certificate.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA1())
print('valid', message['crypto'])
`;
  return execFileSync('/usr/bin/python3', ['-c', script], { input: signedJson, encoding: 'utf8' }).trim();
}

describe('fedmsg X.509 signing', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki();
  });
  afterAll(() => {
    pki.remove();
  });

  const envelope = () =>
    fedmsgEnvelope(
      createMessage('.compose', { compose_id: 'Fedora-41-20261128.n.0', author: 'jiří', note: 'ship 🚢' }),
      'org.fedoraproject.dev.pdc.compose',
      1,
      'pdc',
    );

  it("signs so that fedmsg's algorithm, run by Python, verifies it", () => {
    const signed = signFedmsgEnvelope(
      envelope(),
      loadFedmsgSigner({ certificate: pki.certificate, privateKey: pki.privateKey }),
    );
    expect(signed.crypto).toBe('x509');
    expect(pythonVerifies(canonicalJson(signed))).toBe('valid x509');
  });

  it('wraps signature and certificate in lines of 76 characters with a trailing newline', () => {
    const signed = signFedmsgEnvelope(
      envelope(),
      loadFedmsgSigner({ certificate: pki.certificate, privateKey: pki.privateKey }),
    );
    for (const field of [signed.signature, signed.certificate]) {
      const lines = field!.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.slice(0, -1).every((line) => line.length === 76)).toBe(true);
      expect(lines[lines.length - 1].length).toBeLessThanOrEqual(76);
    }
    expect(Buffer.from(signed.certificate!.replace(/\n/g, ''), 'base64').toString()).toBe(
      pki.read(pki.certificate).slice(pki.read(pki.certificate).indexOf('-----BEGIN')),
    );
    expect(wrap76('a'.repeat(152))).toBe(`${'a'.repeat(76)}\n${'a'.repeat(76)}\n`);
  });

  it('verifies its own signature against the CA', () => {
    const signed = signFedmsgEnvelope(
      envelope(),
      loadFedmsgSigner({ certificate: pki.certificate, privateKey: pki.privateKey }),
    );
    expect(verifyFedmsgSignature(JSON.parse(canonicalJson(signed)), pki.read(pki.caCertificate))).toEqual({
      valid: true,
    });
  });

  it('rejects a tampered message', () => {
    const signed = signFedmsgEnvelope(
      envelope(),
      loadFedmsgSigner({ certificate: pki.certificate, privateKey: pki.privateKey }),
    );
    const tampered = { ...signed, msg: { ...signed.msg, compose_id: 'evil' } };
    expect(verifyFedmsgSignature(tampered, pki.read(pki.caCertificate))).toEqual({
      valid: false,
      reason: 'the signature does not match the message (tampered, or signed with another key)',
    });
  });

  it('rejects a certificate from another CA', () => {
    const signed = signFedmsgEnvelope(
      envelope(),
      loadFedmsgSigner({ certificate: pki.otherCertificate, privateKey: pki.otherPrivateKey }),
    );
    const result = verifyFedmsgSignature(signed, pki.read(pki.caCertificate));
    expect(result.valid).toBe(false);
    expect(!result.valid && result.reason).toContain('was not issued by the given CA');
  });

  it('rejects an unsigned message and an expired certificate', () => {
    expect(verifyFedmsgSignature(envelope(), pki.read(pki.caCertificate))).toEqual({
      valid: false,
      reason: 'no "signature" field',
    });
    const signed = signFedmsgEnvelope(
      envelope(),
      loadFedmsgSigner({ certificate: pki.certificate, privateKey: pki.privateKey }),
    );
    const later = new Date(Date.now() + 60 * 24 * 3600 * 1000);
    const result = verifyFedmsgSignature(signed, pki.read(pki.caCertificate), later);
    expect(!result.valid && result.reason).toContain('is not valid now');
  });

  it('fails at start-up, naming the option, for unreadable or mismatched files', () => {
    const load = (certificate: string, privateKey: string) => () => loadFedmsgSigner({ certificate, privateKey });
    expect(load('/nonexistent.crt', pki.privateKey)).toThrow(MessagingOptionsError);
    expect(load('/nonexistent.crt', pki.privateKey)).toThrow('sign.certificate: cannot read /nonexistent.crt');
    expect(load(pki.certificate, '/nonexistent.key')).toThrow('sign.privateKey: cannot read /nonexistent.key');
    expect(load(pki.privateKey, pki.privateKey)).toThrow('sign.certificate:');
    expect(load(pki.certificate, pki.certificate)).toThrow('sign.privateKey:');
    expect(load(pki.certificate, pki.otherPrivateKey)).toThrow(
      `sign.privateKey: ${pki.otherPrivateKey} does not match the certificate ${pki.certificate}`,
    );
  });
});
