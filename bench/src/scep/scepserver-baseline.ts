/**
 * The baseline: micromdm's scepserver (Debian's `scep`) with a file-key CA
 * of the same key size as the token CA (`ca -init -keySize 2048`; its
 * default is 4096, which makes it much slower), and a static challenge.
 * Its log goes to scepserver.log in the bench directory.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../test/helpers/scep-ca.js';

export interface Scepserver {
  readonly url: string;
  readonly challenge: string;
  stop(): Promise<void>;
}

export async function startScepserver(dir: string): Promise<Scepserver> {
  const depot = join(dir, 'scepserver-depot');
  execFileSync('scepserver', ['ca', '-init', '-keySize', '2048', '-depot', depot], { stdio: 'ignore' });
  const port = await freePort();
  const challenge = 'bench-static-challenge';
  const log = openSync(join(dir, 'scepserver.log'), 'a');
  const child: ChildProcess = spawn('scepserver', ['-depot', depot, '-port', String(port), '-challenge', challenge, '-allowrenew', '0'], { stdio: ['ignore', log, log] });
  closeSync(log);
  const url = `http://127.0.0.1:${port}/scep`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}?operation=GetCACaps`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('scepserver did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    challenge,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
