/**
 * The self-audit's look at the token, in a short-lived process started like
 * the signer as CA_USER (the PKCS#11 module is never loaded by root): loads
 * the module, finds the token and checks that it holds the CA certificate's
 * public key, without a PIN. Writes one frame (a probe answer) on stdout and
 * exits.
 */
import { ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { loadConfig } from '@etoken-ca/contract/io/load-config';
import { encodeProbeAnswer, type ProbeAnswer } from '@etoken-ca/protocol/probe-messages';
import { parseCaCertificate } from '@etoken-ca/x509/ca-certificate';
import { writeAllSync } from './sync-io.js';
import { openPkcs11Token, pkcs11OptionsFromConfig } from './token/graphene-token.js';
import { TokenError } from './token/token.js';

function probe(configFile: string): ProbeAnswer {
  let setup: ReturnType<typeof pkcs11OptionsFromConfig>;
  try {
    const config = loadConfig(configFile);
    setup = pkcs11OptionsFromConfig(config, parseCaCertificate(readCaCertificate(config.caCert).der).publicKey);
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
writeAllSync(1, encodeProbeAnswer(result));
process.exit(result.ok ? ExitCode.ok : ExitCode.unavailable);
