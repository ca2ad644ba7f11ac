/** Who runs an operator command (revoke-cert, etoken-ca-server scep): the login uid (kept across su and sudo), else the real uid, and its name. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The kernel's "unset" login uid, (uid_t)-1. */
const UNSET = 4294967295;

export interface Operator {
  readonly uid: number;
  readonly name: string;
}

function loginUid(): number | null {
  try {
    const uid = Number(readFileSync('/proc/self/loginuid', 'latin1').trim());
    return Number.isSafeInteger(uid) && uid >= 0 && uid !== UNSET ? uid : null;
  } catch {
    return null;
  }
}

/** A directory service that does not answer does not hold up the command: the uid stands in for the name. */
const LOOKUP_TIMEOUT_MS = 5000;

/** Through NSS (getent), so directory accounts have their names too; asynchronous, so the caller's own work overlaps it. */
function userName(uid: number): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', String(uid)], { encoding: 'utf8', timeout: LOOKUP_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, stdout) => {
      const name = error ? undefined : stdout.split(':')[0];
      resolve(name && /^[\x21-\x7e]{1,64}$/.test(name) ? name : null);
    });
  });
}

export async function currentOperator(): Promise<Operator> {
  const uid = loginUid() ?? process.getuid?.() ?? 0;
  return { uid, name: (await userName(uid)) ?? `uid ${uid}` };
}
