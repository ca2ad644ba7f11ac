/** Who runs an operator command (revoke-cert, etoken-ca-server scep): the login uid (kept across su and sudo), else the real uid, and its name. */
import { execFileSync } from 'node:child_process';
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

function userName(uid: number): string | null {
  try {
    const name = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0];
    return name && /^[\x21-\x7e]{1,64}$/.test(name) ? name : null;
  } catch {
    return null;
  }
}

export function currentOperator(): Operator {
  const uid = loginUid() ?? process.getuid?.() ?? 0;
  return { uid, name: userName(uid) ?? `uid ${uid}` };
}
