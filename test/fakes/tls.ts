/**
 * Self-signed TLS material for the local HTTPS fakes (Azure DevOps, ACI/ARM, Key Vault).
 * Generated at test time with the `openssl` CLI, once per process; valid for 127.0.0.1 and localhost.
 *
 * Use `cert` both as the server certificate and as the client's trust anchor, e.g.
 * `new undici.Agent({ connect: { ca: cert } })` or an Azure SDK client's `tlsOptions: { ca: cert }`.
 * Never install it into the default CA store and never set NODE_TLS_REJECT_UNAUTHORIZED.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  /** PEM private key (PKCS#8). */
  key: string;
  /** PEM self-signed certificate, CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1. */
  cert: string;
}

let cached: TestCert | undefined;

export function makeTestCert(): TestCert {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'azp-test-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,digitalSignature,keyCertSign',
        '-addext',
        'extendedKeyUsage=serverAuth',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cached = { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
