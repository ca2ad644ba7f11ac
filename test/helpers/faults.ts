/**
 * Arming fault points (packages/contract/src/fault-point.ts) for crash
 * tests: the test-build marker at the repository root, and the armed points
 * beside one server's config file. Only tests create either file.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARMED_SUFFIX, TEST_BUILD_MARKER, type FaultPoint } from '@etoken-ca/contract/fault-point';
import { makeServerFixture, removeFixture, REPO, type RunningServer, type ServerFixture } from './ca-server.js';
import { createTestToken, type TestToken } from './softhsm.js';

const MARKER = join(REPO, TEST_BUILD_MARKER);

/** Makes this checkout a test build whose fault points are honoured; returns the undo. */
export function enableFaultPoints(): () => void {
  writeFileSync(MARKER, 'fault points of this build are honoured: test use only\n', { mode: 0o644 });
  return () => rmSync(MARKER, { force: true });
}

export function armFault(fixture: ServerFixture, point: FaultPoint): void {
  writeFileSync(fixture.configPath + ARMED_SUFFIX, `${point}\n`, { mode: 0o644 });
}

export function disarmFaults(fixture: ServerFixture): void {
  rmSync(fixture.configPath + ARMED_SUFFIX, { force: true });
}

/** What a crash test starts with: fault points honoured, its own RSA token, and a server fixture polling the token every second. */
export interface CrashTestParts {
  readonly disableFaultPoints: () => void;
  readonly token: TestToken;
  readonly fixture: ServerFixture;
}

export function beginCrashTest(label: string, settings: Record<string, string> = {}): CrashTestParts {
  const disableFaultPoints = enableFaultPoints();
  const token = createTestToken({ label: `${label}-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  return { disableFaultPoints, token, fixture: makeServerFixture(token, { ...settings, TOKEN_POLL_INTERVAL: '1' }) };
}

/** Fault points off first, so nothing is killed on the way out; then the server, the token and the fixture go. */
export async function endCrashTest(parts: Partial<CrashTestParts>, server: RunningServer | undefined): Promise<void> {
  parts.disableFaultPoints?.();
  await server?.stop();
  parts.token?.cleanup();
  if (parts.fixture) removeFixture(parts.fixture);
}
