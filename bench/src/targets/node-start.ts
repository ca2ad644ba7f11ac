/** A bare `node -e 0` as the client account: the unavoidable price of any Node callout. */
import { spawn } from 'node:child_process';
import { systemUser } from '../../../test/helpers/users.js';
import { nowMs } from '../stats.js';

export function bareNodeMs(account = 'myproxy'): Promise<number> {
  const { uid, gid } = systemUser(account);
  const start = nowMs();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { uid, gid, cwd: '/', env: {}, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(nowMs() - start));
  });
}
