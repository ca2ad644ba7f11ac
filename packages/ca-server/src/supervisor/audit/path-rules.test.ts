import { describe, expect, it } from 'vitest';
import { exactProblem, othersCannotRead, parentsOf, rootOnlyProblem, type PathFacts } from './path-rules.js';

const facts = (over: Partial<PathFacts>): PathFacts => ({ path: '/x', type: 'dir', uid: 0, gid: 0, mode: 0o755, ...over });

describe('rootOnlyProblem', () => {
  it('accepts root-owned paths writable by root alone', () => {
    expect(rootOnlyProblem(facts({}), false)).toBeNull();
    expect(rootOnlyProblem(facts({ type: 'file', mode: 0o644 }), false)).toBeNull();
  });

  it('names group- and world-writable paths and foreign owners', () => {
    expect(rootOnlyProblem(facts({ mode: 0o775 }), true)).toBe('/x: group-writable (mode 0775)');
    expect(rootOnlyProblem(facts({ type: 'file', mode: 0o646 }), false)).toBe('/x: world-writable (mode 0646)');
    expect(rootOnlyProblem(facts({ uid: 1000 }), false)).toBe('/x: owned by uid 1000, not root');
  });

  it('allows a sticky world-writable parent such as /tmp, but not a sticky file or target', () => {
    expect(rootOnlyProblem(facts({ mode: 0o1777 }), true)).toBeNull();
    expect(rootOnlyProblem(facts({ mode: 0o1777 }), false)).toMatch(/world-writable/);
  });

  it('refuses a symlinked parent', () => {
    expect(rootOnlyProblem(facts({ type: 'symlink', mode: 0o777 }), true)).toMatch(/symlink/);
  });
});

describe('other rules', () => {
  it('checks readability and exact spool modes', () => {
    expect(othersCannotRead(facts({ type: 'file', mode: 0o600 }))).toMatch(/needs o\+r/);
    expect(exactProblem(facts({ gid: 5, mode: 0o1730 }), 0, 5, 0o1730)).toBeNull();
    expect(exactProblem(facts({ gid: 5, mode: 0o1733 }), 0, 5, 0o1730)).toBe('/x: mode 1733, expected 1730');
  });

  it('lists parents up to /', () => {
    expect(parentsOf('/a/b/c')).toEqual(['/a/b', '/a', '/']);
  });
});
