import { createPrivateKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { canonicalJson } from './canonical-json.js';
import type { FedmsgEnvelope } from './fedmsg-envelope.js';
import type { FedmsgSigningOptions } from './fedmsg-options.interface.js';

/** A loaded certificate and key, parsed once: parsing per message would cost three times the signing. */
export interface FedmsgSigner {
  readonly privateKey: KeyObject;
  /** The certificate's PEM text, base64-encoded and wrapped, ready for the envelope. */
  readonly certificateField: string;
}

/**
 * Reads and checks the signing files at start-up: unreadable files, a
 * certificate or key that does not parse, or a key that does not match the
 * certificate fail here, naming the option.
 */
export function loadFedmsgSigner(options: FedmsgSigningOptions): FedmsgSigner {
  const certificateText = readPem(options.certificate, 'sign.certificate');
  const keyText = readPem(options.privateKey, 'sign.privateKey');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificateText);
  } catch (error) {
    throw optionError('sign.certificate', `${options.certificate} is not a PEM X.509 certificate (${reason(error)})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyText);
  } catch (error) {
    throw optionError(
      'sign.privateKey',
      `${options.privateKey} is not an unencrypted PEM private key (${reason(error)})`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw optionError(
      'sign.privateKey',
      `${options.privateKey} is a ${privateKey.asymmetricKeyType} key; fedmsg signs with RSA`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw optionError('sign.privateKey', `${options.privateKey} does not match the certificate ${options.certificate}`);
  }
  // fedmsg sends the file from its first "-----BEGIN" to its end.
  const pem = certificateText.slice(certificateText.indexOf('-----BEGIN'));
  return { privateKey, certificateField: wrap76(Buffer.from(pem, 'utf8').toString('base64')) };
}

/**
 * Signs as fedmsg's X.509 backend does: `crypto` set to `x509`, an RSA
 * PKCS#1 v1.5 SHA-1 signature over the canonical JSON of the envelope, then
 * `signature` and `certificate` added. Encode the result with
 * `canonicalJson`: those are the bytes the signature was computed over.
 */
export function signFedmsgEnvelope(envelope: FedmsgEnvelope, signer: FedmsgSigner): FedmsgEnvelope {
  const unsigned: FedmsgEnvelope = { ...envelope, crypto: 'x509' };
  const signature = sign('sha1', Buffer.from(canonicalJson(unsigned), 'utf8'), signer.privateKey);
  return { ...unsigned, signature: wrap76(signature.toString('base64')), certificate: signer.certificateField };
}

/** The outcome of `verifyFedmsgSignature`: valid, or why not. */
export type FedmsgVerification = { readonly valid: true } | { readonly valid: false; readonly reason: string };

/**
 * Checks a signed fedmsg envelope, for consumers written in TypeScript: the
 * certificate must be issued and signed by `caCertificatePem` and valid now,
 * and the signature must match the envelope's canonical JSON. Checks the
 * direct issuer only (no intermediate chain) and no revocation list.
 *
 * @example
 * ```ts
 * const result = verifyFedmsgSignature(JSON.parse(frames[1].toString()), readFileSync('ca.crt', 'utf8'));
 * if (!result.valid) logger.warn(`dropping unverified message: ${result.reason}`);
 * ```
 */
export function verifyFedmsgSignature(
  envelope: unknown,
  caCertificatePem: string,
  now = new Date(),
): FedmsgVerification {
  if (envelope === null || typeof envelope !== 'object') return invalid('the message is not a JSON object');
  const fields = envelope as Record<string, unknown>;
  const { signature, certificate, ...signed } = fields;
  if (typeof signature !== 'string') return invalid('no "signature" field');
  if (typeof certificate !== 'string') return invalid('no "certificate" field');
  let ca: X509Certificate;
  let signer: X509Certificate;
  try {
    ca = new X509Certificate(caCertificatePem);
  } catch (error) {
    return invalid(`the CA certificate does not parse (${reason(error)})`);
  }
  try {
    signer = new X509Certificate(Buffer.from(certificate.replace(/\s+/g, ''), 'base64'));
  } catch (error) {
    return invalid(`the message's certificate does not parse (${reason(error)})`);
  }
  if (!signer.checkIssued(ca) || !signer.verify(ca.publicKey)) {
    return invalid(`the certificate "${signer.subject.replace(/\n/g, ', ')}" was not issued by the given CA`);
  }
  if (now < new Date(signer.validFrom) || now > new Date(signer.validTo)) {
    return invalid(`the certificate is not valid now (valid from ${signer.validFrom} to ${signer.validTo})`);
  }
  const data = Buffer.from(canonicalJson(signed), 'utf8');
  const signatureBytes = Buffer.from(signature.replace(/\s+/g, ''), 'base64');
  if (!verify('sha1', data, signer.publicKey, signatureBytes)) {
    return invalid('the signature does not match the message (tampered, or signed with another key)');
  }
  return { valid: true };
}

/** Base64 in lines of 76 characters joined by `\n`, with a trailing `\n`: what fedmsg's validator expects. */
export function wrap76(base64: string): string {
  let out = '';
  for (let index = 0; index < base64.length; index += 76) out += `${base64.slice(index, index + 76)}\n`;
  return out;
}

function readPem(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw optionError(option, `cannot read ${path} (${reason(error)})`);
  }
}

function optionError(option: string, message: string): MessagingOptionsError {
  return new MessagingOptionsError([`${option}: ${message}`], 'FedmsgMessenger options');
}

function invalid(why: string): FedmsgVerification {
  return { valid: false, reason: why };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
