/**
 * The self-audit's look at the token, in a short-lived process as CA_USER
 * (the PKCS#11 module is never loaded by root): loads the module, finds the
 * token and checks that it holds the CA certificate's public key, without
 * a PIN. Writes one JSON line (TokenProbeResult) on stdout and exits.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '@etoken-ca/contract/config';
import { ExitCode } from '@etoken-ca/contract/exit-codes';
import { openPkcs11Token, pkcs11OptionsFromConfig } from '../token/graphene-token.js';
import { TokenError } from '../token/token.js';
import { parseCaCertificate } from '../x509/ca-certificate.js';
import type { TokenProbeResult } from './token-probe.js';

function probe(configFile: string): TokenProbeResult {
  let setup: ReturnType<typeof pkcs11OptionsFromConfig>;
  try {
    const config = loadConfig(configFile);
    setup = pkcs11OptionsFromConfig(config, parseCaCertificate(readFileSync(config.caCert)).publicKey);
  } catch (e) {
    return { ok: false, kind: 'setup', reason: (e as Error).message };
  }
  try {
    const token = openPkcs11Token(setup);
    token.close();
    return { ok: true, label: token.info.label, serial: token.info.serial };
  } catch (e) {
    return { ok: false, kind: e instanceof TokenError ? e.kind : 'failed', reason: (e as Error).message };
  }
}

const [flag, file] = process.argv.slice(2);
if (flag !== '--config' || !file) {
  process.stderr.write('usage: token-probe-main.js --config FILE\n');
  process.exit(ExitCode.usage);
}
const result = probe(file);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.ok ? ExitCode.ok : ExitCode.unavailable);
