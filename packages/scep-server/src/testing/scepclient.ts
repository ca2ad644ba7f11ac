/**
 * Runs micromdm's scepclient (Debian's `scep` 2.1.0) in a directory of its
 * own. It keeps csr.pem and self.pem next to its key, wants the key in
 * PKCS#1 form (`openssl genrsa -traditional`), and writes the certificate it
 * gets to -certificate, the same file it renews with.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram, type ProgramRun } from './run-program.js';

export class ScepClient {
  readonly dir = mkdtempSync(join(tmpdir(), 'scepclient-'));
  readonly keyPath = join(this.dir, 'client.key');
  readonly certificatePath = join(this.dir, 'client.pem');

  constructor() {
    execFileSync('openssl', ['genrsa', '-traditional', '-out', this.keyPath, '2048'], { stdio: 'ignore' });
  }

  /**
   * Asynchronous: the server it talks to may live in this very process.
   * `subject`: scepclient's own flags for it (-cn, -organization, -ou, -country), replacing its defaults.
   */
  run(serverUrl: string, options: { challenge?: string; subject?: readonly string[] } = {}): Promise<ProgramRun> {
    const args = ['-private-key', this.keyPath, '-certificate', this.certificatePath, '-server-url', serverUrl, ...(options.subject ?? ['-cn', 'device-1.example.org'])];
    if (options.challenge !== undefined) args.push('-challenge', options.challenge);
    return runProgram('scepclient', args);
  }

  certificate(): Buffer | undefined {
    return existsSync(this.certificatePath) ? readFileSync(this.certificatePath) : undefined;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
