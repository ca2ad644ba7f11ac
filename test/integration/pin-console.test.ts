/**
 * Console PIN entry on a real pseudo-terminal: the real server, parser and
 * signer on a SoftHSM token, the PIN typed on the terminal named PIN_TTY.
 * Each test has its own terminal, CA directory and server.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { consoleKeys, exitStatus, PIN_PROMPT, spawnServer, typePinAtPrompt } from '../helpers/console-server.js';
import { TestPty } from '../helpers/pty.js';
import { processTree, secretInFiles, secretInProcesses } from '../helpers/secret-search.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';

let token: TestToken;
let pty: TestPty;
let fixture: ServerFixture;
let server: RunningServer | undefined;
const STRAY = 'stray-typing-before-the-prompt';

beforeAll(() => {
  token = createTestToken({ label: `pin-${process.pid}`, keyType: 'ec-p256', owner: 'causer' });
});

afterAll(() => token?.cleanup());

beforeEach(async () => {
  pty = await TestPty.open();
  fixture = makeServerFixture(token, { ...consoleKeys(pty), TOKEN_POLL_INTERVAL: '1' });
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  await pty?.close();
  if (fixture) removeFixture(fixture);
});

describe('PIN on the console', () => {
  const wrongPin = (): string => `9${token.pin.split('').reverse().join('')}`;

  /** A server started with stray typing before its prompt, given a wrong PIN and then the right one. */
  async function startWithWrongThenRightPin(): Promise<RunningServer> {
    pty.type(`${STRAY}\r`);
    const started = (server = spawnServer(fixture));
    await typePinAtPrompt(pty, wrongPin(), 1);
    await started.waitFor('pin.rejected');
    await typePinAtPrompt(pty, token.pin, 2);
    await started.waitFor('pin.accepted');
    await pty.waitFor('PIN accepted');
    return started;
  }

  it('ignores stray input, shows the token, takes a wrong then a right PIN, echoing nothing', async () => {
    const server = await startWithWrongThenRightPin();
    expect(pty.output).toContain(`token "${token.label}", serial ${token.serial}`);
    expect(pty.output).toContain('The token REJECTED the last PIN.');
    expect(server.events('pin.rejected')).toHaveLength(1); // the stray line never reached the token
    expect(server.events('pin.non-console')).toHaveLength(2); // a warning at each use of a non-VT console
    const afterFirstPrompt = pty.output.slice(pty.output.indexOf(PIN_PROMPT));
    expect(afterFirstPrompt).not.toContain(STRAY);
    expect(pty.output).not.toContain(token.pin);
    expect(pty.output).not.toContain(wrongPin());
  });

  it('keeps the PIN out of every environment, command line, log line and file', async () => {
    const server = await startWithWrongThenRightPin();
    const pids = processTree(server.child.pid!);
    expect(pids.length).toBeGreaterThanOrEqual(3); // server, parser, signer
    for (const pin of [token.pin, wrongPin()]) {
      expect(secretInProcesses(pids, pin)).toEqual([]);
      expect(JSON.stringify(server.logs) + server.stderr.join('')).not.toContain(pin);
      expect(secretInFiles(fixture.dir, pin)).toEqual([]);
    }
  });

  it('refuses a terminal that is not a virtual console unless the config allows it', async () => {
    const strict = makeServerFixture(token, { PIN_TTY: pty.slavePath, ALLOW_PIN_FD: 'no' });
    try {
      const refused = spawnServer(strict);
      expect(await exitStatus(refused)).toBe(78);
      expect(refused.stderr.join('')).toMatch(/PIN_TTY: .* is not a Linux virtual console .*ALLOW_NON_VT_PIN_TTY=yes/);
      const notTty = spawnServer(makeServerFixture(token, { PIN_TTY: '/dev/null', ALLOW_NON_VT_PIN_TTY: 'yes' }));
      expect(await exitStatus(notTty)).toBe(78);
      expect(notTty.stderr.join('')).toMatch(/\/dev\/null is not a terminal/);
      removeFixture(notTty.fixture);
    } finally {
      removeFixture(strict);
    }
  });
});
