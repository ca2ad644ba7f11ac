import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requestFile, spoolLayout } from '@etoken-ca/contract/core/spool';
import { SpoolSweeper } from './sweeper.js';

const dir = mkdtempSync(join(tmpdir(), 'etoken-sweeper-'));
const layout = spoolLayout(dir);
mkdirSync(layout.incoming);
mkdirSync(layout.answers);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const id = (n: number): string => n.toString(16).padStart(32, '0');
const GRACE_MS = 1000;

function sweeper(): { sweep: () => void; advance: (ms: number) => void; logged: Array<[string, Record<string, unknown>]> } {
  let now = 0;
  const logged: Array<[string, Record<string, unknown>]> = [];
  const s = new SpoolSweeper(layout, GRACE_MS, { ownerAlive: () => false, inFlight: () => false, now: () => now, log: (event, details) => void logged.push([event, details]) });
  return { sweep: () => s.sweep(readdirSync(layout.incoming)), advance: (ms) => void (now += ms), logged };
}

describe('SpoolSweeper', () => {
  it('removes a request never published after the grace time, and says so once', () => {
    const s = sweeper();
    writeFileSync(requestFile(layout, id(1)), 'request');
    s.sweep();
    s.advance(GRACE_MS);
    s.sweep();
    expect(existsSync(requestFile(layout, id(1)))).toBe(true);
    s.advance(1);
    s.sweep();
    s.sweep();
    expect(existsSync(requestFile(layout, id(1)))).toBe(false);
    expect(s.logged).toEqual([['request.unpublished', { req: id(1), reason: 'request never published; removed' }]]);
  });

  it('leaves a non-empty directory named as a request in place, says so once, and never that it removed it', () => {
    const s = sweeper();
    mkdirSync(requestFile(layout, id(2)));
    writeFileSync(join(requestFile(layout, id(2)), 'inside'), 'x');
    s.sweep();
    for (let i = 0; i < 5; i++) {
      s.advance(GRACE_MS + 1);
      s.sweep();
    }
    expect(existsSync(requestFile(layout, id(2)))).toBe(true);
    expect(s.logged).toEqual([['request.unpublished', { req: id(2), reason: 'request never published; a non-empty directory, left in place' }]]);
    // Emptied by its owner: removed at the next sweep, and that is said too.
    rmSync(join(requestFile(layout, id(2)), 'inside'));
    s.sweep();
    expect(existsSync(requestFile(layout, id(2)))).toBe(false);
    expect(s.logged.at(-1)).toEqual(['request.unpublished', { req: id(2), reason: 'request never published; removed' }]);
  });
});
