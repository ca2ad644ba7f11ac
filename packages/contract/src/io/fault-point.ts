/**
 * Fault points for crash tests: named steps of issuance and revocation where a process
 * kills itself with SIGKILL when a test has armed that step.
 *
 * Honoured only in a test build: a directory above the running code (the
 * repository root) must hold `.fault-injection-test-build`, which only the
 * test run's global setup creates (neither the build nor an installer ever
 * does). The points a test arms are
 * listed in `<config file>.faults`, one name per line, so tests sharing one
 * build never hit each other's points. Both files must be regular files
 * owned by root and writable by root only: whoever could create them could
 * already replace the program itself. In a production install the marker is
 * absent, the check is made once per process, and every point is a no-op.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAULT_POINTS = [
  'client.after-request-written',
  'client.after-lock-published',
  'client.while-waiting',
  'client.after-answer-read',
  'server.after-received',
  'server.after-parse',
  'server.after-reserve',
  'server.after-signer-returned',
  'server.after-issue-appended',
  'server.after-flush',
  'server.after-answer-written',
  'parser.on-receipt',
  'parser.before-reply',
  'signer.on-receipt',
  'signer.after-sign',
  'revoke-cert.after-queued',
  'server.after-revoke-recorded',
  'server.after-crl-number',
  'server.after-crl-signed',
  'server.after-crl-written',
  'server.after-crl-published',
  // the SCEP workflow
  'server.scep-after-workflow-recorded',
  'server.scep-after-reserve',
  'server.scep-after-signer-returned',
  'server.scep-after-issue-appended',
  'server.scep-after-flush',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

export const TEST_BUILD_MARKER = '.fault-injection-test-build';
export const ARMED_SUFFIX = '.faults';

const MAX_ARMED_BYTES = 4096;

/** The text of a root-owned regular file that only root can write, else null; never follows a link or blocks. */
function rootOnlyFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== 0 || (st.mode & 0o022) !== 0 || st.size > MAX_ARMED_BYTES) return null;
    const bytes = Buffer.alloc(st.size);
    const got = readSync(fd, bytes, 0, bytes.length, 0);
    return bytes.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}

/** Whether a directory above this module (wherever the build or the bundle put it) holds the marker. */
function isTestBuild(): boolean {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (rootOnlyFile(join(dir, TEST_BUILD_MARKER)) !== null) return true;
  }
  return false;
}

/** The config file every etoken-ca process is given: `--config FILE` in argv, else ETOKEN_CA_CONFIG. */
function configFileOfThisProcess(): string | undefined {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') return argv[i + 1];
    if (argv[i]?.startsWith('--config=')) return argv[i]!.slice('--config='.length);
  }
  return process.env.ETOKEN_CA_CONFIG;
}

let armedFile: string | null | undefined;

function armedFileIfTestBuild(): string | null {
  if (armedFile === undefined) {
    const config = configFileOfThisProcess();
    armedFile = config && isTestBuild() ? config + ARMED_SUFFIX : null;
  }
  return armedFile;
}

/** Kills this process at once (no cleanup, no flush) if a crash test armed `point`. */
export function faultPoint(point: FaultPoint): void {
  const file = armedFileIfTestBuild();
  if (!file) return;
  const armed = rootOnlyFile(file);
  if (armed?.split('\n').some((line) => line.trim() === point)) process.kill(process.pid, 'SIGKILL');
}
