import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: found by walking up, so this also works when bundled (the demo, the bench). */
export function findRepo(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'packages/ca-server/package.json'))) return dir;
  }
  throw new Error(`no etoken-ca repository above ${from}`);
}
