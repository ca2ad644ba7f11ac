/**
 * The SCEP clients the tests talk to come from Debian packages (micromdm's
 * scepclient and scepserver in `scep`, certmonger's scep-submit). Missing
 * ones are installed, saying so, as the project's test setup does for its
 * own packages.
 */
import { execFileSync } from 'node:child_process';

export function requireDebianPackages(packages: readonly string[]): void {
  const missing = packages.filter((name) => !installed(name));
  if (missing.length === 0) return;
  console.log(`scep tests: installing Debian packages ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { env, stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-q', ...missing], { env, stdio: 'inherit' });
}

function installed(name: string): boolean {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${db:Status-Status}', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) === 'installed';
  } catch {
    return false;
  }
}
