/**
 * Arming fault points (packages/contract/src/io/fault-point.ts) for crash
 * tests: the armed points beside one server's config file, so each test
 * arms only its own servers. The test-build marker is made once per run
 * (test/global-setup.ts).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { ARMED_SUFFIX, type FaultPoint } from '@etoken-ca/contract/io/fault-point';
import { makeServerFixture, removeFixture, type RunningServer, type ServerFixture } from './ca-server.js';
import { createTestToken, type TestToken } from './softhsm.js';

export function armFault(fixture: ServerFixture, point: FaultPoint): void {
  writeFileSync(fixture.configPath + ARMED_SUFFIX, `${point}\n`, { mode: 0o644 });
}

export function disarmFaults(fixture: ServerFixture): void {
  rmSync(fixture.configPath + ARMED_SUFFIX, { force: true });
}

/** What a crash test starts with: its own RSA token, and a server fixture polling the token every second. */
export interface CrashTestParts {
  readonly token: TestToken;
  readonly fixture: ServerFixture;
}

export function beginCrashTest(label: string, settings: Record<string, string> = {}): CrashTestParts {
  const token = createTestToken({ label: `${label}-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  return { token, fixture: makeServerFixture(token, { ...settings, TOKEN_POLL_INTERVAL: '1' }) };
}

/** Its fault points disarmed first, so nothing is killed on the way out; then the server, the token and the fixture go. */
export async function endCrashTest(parts: Partial<CrashTestParts>, server: RunningServer | undefined): Promise<void> {
  if (parts.fixture) disarmFaults(parts.fixture);
  await server?.stop();
  parts.token?.cleanup();
  if (parts.fixture) removeFixture(parts.fixture);
}
