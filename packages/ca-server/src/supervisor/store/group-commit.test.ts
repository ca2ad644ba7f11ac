import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('shares one flush among callers that arrive while another runs', async () => {
    let flushes = 0;
    let release: () => void = () => undefined;
    const commits = new GroupCommit(
      () =>
        new Promise<void>((resolve) => {
          flushes++;
          release = resolve;
        }),
    );
    const first = commits.commit();
    const waiting = [commits.commit(), commits.commit(), commits.commit()];
    expect(flushes).toBe(1);
    release();
    await first;
    expect(flushes).toBe(2);
    release();
    await Promise.all(waiting);
    expect(flushes).toBe(2);
  });

  it('passes a flush failure to every waiter of that batch', async () => {
    const commits = new GroupCommit(() => Promise.reject(new Error('EIO')));
    await expect(commits.commit()).rejects.toThrow('EIO');
  });
});
