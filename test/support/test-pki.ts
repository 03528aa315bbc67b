import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files of a throw-away PKI: a CA, a certificate it signed, and an unrelated CA with its own certificate. */
export interface TestPki {
  readonly dir: string;
  readonly caCertificate: string;
  readonly certificate: string;
  readonly privateKey: string;
  readonly otherCaCertificate: string;
  readonly otherCertificate: string;
  readonly otherPrivateKey: string;
  read(path: string): string;
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function issue(dir: string, ca: string, name: string, commonName: string): void {
  openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${commonName}`,
  );
  writeFileSync(
    join(dir, `${name}.ext`),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  );
}

function createCa(dir: string, name: string, commonName: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '30',
    '-subj',
    `/CN=${commonName}`,
  );
}

/** Generates the PKI with openssl in a new temporary directory. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-messaging-pki-'));
  createCa(dir, 'ca', 'nestjs-messaging test CA');
  issue(dir, 'ca', 'publisher', 'pdc-publisher.example.com');
  createCa(dir, 'other-ca', 'unrelated test CA');
  issue(dir, 'other-ca', 'other', 'intruder.example.com');
  return {
    dir,
    caCertificate: join(dir, 'ca.crt'),
    certificate: join(dir, 'publisher.crt'),
    privateKey: join(dir, 'publisher.key'),
    otherCaCertificate: join(dir, 'other-ca.crt'),
    otherCertificate: join(dir, 'other.crt'),
    otherPrivateKey: join(dir, 'other.key'),
    read: (path) => readFileSync(path, 'utf8'),
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
