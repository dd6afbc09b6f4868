/** Throwaway CA and localhost server certificate made with the openssl CLI, for TLS tests only. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Paths and PEM contents of a test CA and a server certificate it signed. */
export interface TestCertificates {
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

// EC P-256 keys: generated in milliseconds (RSA takes far longer) and accepted by Node and PostgreSQL.
const KEY_ALGORITHM = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const VALID_DAYS = '7';

const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = serverAuth, clientAuth',
  'subjectAltName = DNS:localhost, IP:127.0.0.1',
  '',
].join('\n');

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `openssl ${args[0]} failed: ${stderr.trim() || String(error)}. Is openssl installed (apt-get install -y openssl)?`,
    );
  }
}

/**
 * Writes ca.crt, ca.key, server.crt and server.key (mode 0600) into `dir`. The server certificate
 * is for CN=localhost with subjectAltName DNS:localhost and IP:127.0.0.1, so clients can verify it
 * fully (verify-full / rejectUnauthorized) whether they dial the name or the address.
 */
export async function generateTestCertificates(dir: string): Promise<TestCertificates> {
  await mkdir(dir, { recursive: true });
  const caFile = path.join(dir, 'ca.crt');
  const caKeyFile = path.join(dir, 'ca.key');
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  const csrFile = path.join(dir, 'server.csr');
  const extFile = path.join(dir, 'server.ext');

  await openssl(
    [
      'req',
      '-x509',
      ...KEY_ALGORITHM,
      '-keyout',
      caKeyFile,
      '-out',
      caFile,
      '-days',
      VALID_DAYS,
      '-subj',
      '/CN=Airlock Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await openssl(
    ['req', '-new', ...KEY_ALGORITHM, '-keyout', keyFile, '-out', csrFile, '-subj', '/CN=localhost'],
    dir,
  );
  await writeFile(extFile, SERVER_EXTENSIONS);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      caFile,
      '-CAkey',
      caKeyFile,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      VALID_DAYS,
      '-extfile',
      extFile,
      '-out',
      certFile,
    ],
    dir,
  );
  // PostgreSQL refuses a private key readable by group or others.
  await chmod(keyFile, 0o600);
  await chmod(caKeyFile, 0o600);

  const [caPem, certPem, keyPem] = await Promise.all([
    readFile(caFile, 'utf8'),
    readFile(certFile, 'utf8'),
    readFile(keyFile, 'utf8'),
  ]);
  return { caFile, caPem, certFile, keyFile, certPem, keyPem };
}
