import { describe, expect, it } from 'vitest';
import { HELP_TEXT, parseCommandLine } from './command-line.js';

describe('parseCommandLine', () => {
  it('runs with no arguments, as MyProxy calls it', () => {
    expect(parseCommandLine([])).toEqual({ kind: 'run', configFile: undefined });
  });

  it('takes --config FILE and --config=FILE', () => {
    expect(parseCommandLine(['--config', '/etc/x'])).toEqual({ kind: 'run', configFile: '/etc/x' });
    expect(parseCommandLine(['--config=/etc/y'])).toEqual({ kind: 'run', configFile: '/etc/y' });
  });

  it('knows --help and --version', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
  });

  it.each([[['extra']], [['--bogus']], [['--config']], [['-x']]])('refuses %j with exit 64 on one line', (args) => {
    expect(() => parseCommandLine(args)).toThrow(expect.objectContaining({ exitCode: 64, message: expect.stringMatching(/^[^\n]+usage: etoken-ca-client/) }));
  });

  it('documents every exit code', () => {
    for (const code of [0, 64, 65, 69, 70, 73, 75, 77, 78]) expect(HELP_TEXT).toMatch(new RegExp(`^  ${code} `, 'm'));
  });
});
