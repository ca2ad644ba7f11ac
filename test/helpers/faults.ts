/**
 * Arming fault points (packages/contract/src/fault-point.ts) for crash
 * tests: the test-build marker at the repository root, and the armed points
 * beside one server's config file. Only tests create either file.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARMED_SUFFIX, TEST_BUILD_MARKER, type FaultPoint } from '@etoken-ca/contract/fault-point';
import { REPO, type ServerFixture } from './ca-server.js';

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
