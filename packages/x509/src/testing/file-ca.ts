/**
 * A CA with its key in memory, for unit tests: its certificate made with
 * buildCaTbs, end-entity certificates with the product's own template, both
 * signed with node:crypto the way the token adapter signs (DER for ECDSA).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { parseConfig, type Config } from '@etoken-ca/contract/core/config';
import type { Rdn } from '@etoken-ca/contract/core/dn';
import { randomSerial } from '@etoken-ca/contract/core/serial';
import { parseCaCertificate, type CaCertificate } from '../ca-certificate.js';
import { buildCaTbs } from '../ca-tbs.js';
import { pemBytes } from '../pem.js';
import { signatureAlgorithm, type CaKeyType } from '../signature-algorithm.js';
import { assembleSigned } from '../signed.js';
import { buildTbs, createCertTemplate, type CertificateContent } from '../template.js';

export interface FileCa {
  readonly ca: CaCertificate;
  readonly pem: string;
  readonly config: Config;
  readonly key: KeyObject;
  /** A certificate from the product's template, signed by this CA. */
  issue(content: Partial<CertificateContent> & { spki: Buffer }): Buffer;
  /** Any TBS, signed by this CA. */
  signTbs(tbs: Buffer): Buffer;
}

const HOUR = 3600_000;

function keyPair(type: CaKeyType): { publicKey: KeyObject; privateKey: KeyObject } {
  if (type === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  return generateKeyPairSync('ec', { namedCurve: type === 'ec-p256' ? 'P-256' : 'P-384' });
}

export function makeFileCa(options: { keyType?: CaKeyType; subject?: readonly Rdn[]; config?: string } = {}): FileCa {
  const keyType = options.keyType ?? 'rsa';
  const algorithm = signatureAlgorithm(keyType);
  const { publicKey, privateKey } = keyPair(keyType);
  const now = Math.floor(Date.now() / 1000) * 1000;
  const signTbs = (tbs: Buffer): Buffer => assembleSigned(tbs, algorithm, sign(algorithm.hash, tbs, privateKey));
  const tbs = buildCaTbs(
    {
      subject: options.subject ?? [{ type: 'O', value: 'etoken-ca test' }, { type: 'CN', value: 'Unit Test CA' }],
      spki: publicKey.export({ type: 'spki', format: 'der' }),
      notBefore: now - HOUR,
      notAfter: now + 24 * HOUR,
    },
    algorithm,
  );
  const der = signTbs(tbs);
  const ca = parseCaCertificate(der);
  const config = parseConfig(options.config ?? 'DN_FORMAT=/O=Example%s\n', 'unit.conf');
  const template = createCertTemplate(config, ca);
  return {
    ca,
    pem: pemBytes(der, 'CERTIFICATE').toString('latin1'),
    config,
    key: privateKey,
    signTbs,
    issue: (content) =>
      signTbs(
        buildTbs(template, {
          serial: randomSerial(),
          subject: [{ type: 'O', value: 'Example' }, { type: 'CN', value: 'John Doe' }],
          emails: [],
          notBefore: now,
          notAfter: now + HOUR,
          ...content,
        }),
      ),
  };
}
