/**
 * certmonger's whole SCEP flow (key, CSR, GetCACaps, GetCACert,
 * PKIOperation, renewal) needs its daemon. It runs here on a private
 * session bus, with its state in a directory of its own instead of
 * /var/lib/certmonger, for exactly the getcert commands given.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram, type ProgramRun } from './run-program.js';

export class Certmonger {
  readonly dir = mkdtempSync(join(tmpdir(), 'certmonger-'));

  /** `script` is a shell script of getcert commands; each must pass -s for the session bus. */
  run(script: string, timeoutMs?: number): Promise<ProgramRun> {
    const state = (name: string): string => {
      const path = join(this.dir, 'state', name);
      mkdirSync(path, { recursive: true });
      return path;
    };
    const env = {
      ...process.env,
      CERTMONGER_REQUESTS_DIR: state('requests'),
      CERTMONGER_CAS_DIR: state('cas'),
      CERTMONGER_CONFIG_DIR: state('config'),
      CERTMONGER_LOCAL_CA_DIR: state('local'),
    };
    return runProgram('dbus-run-session', ['--', 'certmonger', '-s', '-n', '-c', `sh -ec '${script.replace(/'/g, `'\\''`)}'`], env, timeoutMs);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
