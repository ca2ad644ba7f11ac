/** Runs one load generator process as the client account and returns its result. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { systemUser } from '../../../test/helpers/users.js';
import type { LoadJob, LoadResult } from './load-protocol.js';

const GENERATOR = fileURLToPath(new URL('./load-generator.js', import.meta.url));

export function runLoad(job: LoadJob, account = 'myproxy'): Promise<LoadResult> {
  const { uid, gid } = systemUser(account);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [GENERATOR, JSON.stringify(job)], { uid, gid, cwd: '/', timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`load generator failed: ${error.message} ${stderr}`));
      const result = JSON.parse(stdout) as LoadResult;
      if (result.failures > 0) return reject(new Error(`${result.failures} request(s) refused: the server is not issuing`));
      resolve(result);
    });
  });
}
