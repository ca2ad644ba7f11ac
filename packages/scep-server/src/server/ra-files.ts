/**
 * The RA key and certificate files. The key is the SCEP account's own
 * secret: it must be a regular file of this account's, readable by no one
 * else (0600 or stricter), or etoken-ca-scep does not start.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { raCredentials, type RaCredentials } from '@etoken-ca/scep-server/core/index';

function readOwnSecret(path: string, key: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw new EtokenError(ExitCode.config, `${key} ${path}: cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new EtokenError(ExitCode.config, `${key} ${path}: not a regular file`);
    if (st.uid !== process.getuid?.()) throw new EtokenError(ExitCode.config, `${key} ${path}: must be owned by the SCEP account (uid ${process.getuid?.()}), not uid ${st.uid}`);
    if ((st.mode & 0o077) !== 0) throw new EtokenError(ExitCode.config, `${key} ${path}: must not be readable by group or others (chmod 600)`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function loadRaCredentials(keyPath: string, certificatePath: string): RaCredentials {
  const keyPem = readOwnSecret(keyPath, 'SCEP_RA_KEY');
  let certificate: Buffer;
  try {
    certificate = new X509Certificate(readFileSync(certificatePath)).raw;
  } catch (e) {
    throw new EtokenError(ExitCode.config, `SCEP_RA_CERT ${certificatePath}: cannot use: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (issue it with etoken-ca-server scep issue-ra-cert)`);
  }
  try {
    return raCredentials(certificate, createPrivateKey(keyPem));
  } catch (e) {
    throw new EtokenError(ExitCode.config, `SCEP_RA_KEY ${keyPath}: ${(e as Error).message}`);
  }
}
