/**
 * Once per test run: the build staged where every account can read it
 * (test/helpers/staged-code.ts), marked a test build so the fault points a
 * test arms for its own server are honoured. A server still needs its own
 * armed-points file beside its config, so test files never arm each other.
 */
import { stageCode } from './helpers/staged-code.js';

export function setup(): void {
  stageCode({ faultPoints: true });
}
