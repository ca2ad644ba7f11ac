/**
 * The smart-card test module (test/pkcs11-smartcard): a PKCS#11 module that
 * makes a SoftHSM token behave like a USB eToken (slow serialized signatures,
 * PIN retry counter, removal, re-insertion under a new slot id, device
 * errors), switched at run time through a control directory. The product
 * loads it like a vendor module: PKCS11_MODULE=smartcardModule(),
 * PKCS11_ENV=control.pkcs11Env(token). See test/pkcs11-smartcard/README.md.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fchmodSync, lstatSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { findRepo } from './repo.js';
import type { TestToken } from './softhsm.js';
import { giveTo, isRoot, systemUser } from './users.js';

/** Found from the repository root, so that the bench, bundled elsewhere, finds it too. */
const SOURCE_DIR = join(findRepo(import.meta.dirname), 'test/pkcs11-smartcard');
const SOURCE_FILES = ['smartcard.c', 'build.sh'];
const MODULE_FILE = 'pkcs11-smartcard.so';
/** Files the module opens in the control directory, made beforehand so that they belong to the token's owner. */
const SHARED_FILES = ['token.lock', 'state.lock', 'signatures.log'];

let builtModule: string | undefined;

/**
 * The module's path, built once per version of its source into a root-owned
 * directory under /tmp that everyone may read: the token's owner loads it
 * from there, as it may not be able to read the checkout (/root is 0700).
 */
export function smartcardModule(): string {
  builtModule ??= buildModule();
  return builtModule;
}

function buildModule(): string {
  if (!isRoot()) throw new Error('the smart-card test module is built by root: run the tests as root');
  const version = createHash('sha256');
  for (const file of SOURCE_FILES) version.update(readFileSync(join(SOURCE_DIR, file)));
  const dir = `/tmp/etoken-ca-smartcard-${version.digest('hex').slice(0, 16)}`;
  if (!existsSync(dir)) {
    const staging = mkdtempSync('/tmp/etoken-ca-smartcard-build-');
    try {
      execFileSync('bash', [join(SOURCE_DIR, 'build.sh'), staging], { stdio: ['ignore', 'pipe', 'pipe'] });
      chmodSync(staging, 0o755);
      renameSync(staging, dir);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      // The rename fails when another test worker built the same version first.
      if (!existsSync(dir)) throw e;
    }
  }
  const modulePath = join(dir, MODULE_FILE);
  assertOnlyRootCanChange(dir);
  assertOnlyRootCanChange(modulePath);
  return modulePath;
}

/** Root loads the module too: a directory in /tmp that someone else made or can write must not be trusted. */
function assertOnlyRootCanChange(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new Error(`${path} is not root's alone (uid ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}): remove it`);
  }
}

/** One line of the module's signature log. */
export interface SignatureRecord {
  readonly startMs: number;
  readonly endMs: number;
  readonly pid: number;
  /** The PKCS#11 return code of the signature (0: CKR_OK, 0x30: CKR_DEVICE_ERROR, 0x32: CKR_DEVICE_REMOVED). */
  readonly rv: number;
}

function checkedCount(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a whole number >= 0, got ${value}`);
  return value;
}

/** The control directory of one simulated token, and the switches the tests turn. */
export class SmartcardControl {
  private readonly settings = new Map<string, string>();
  private insertion = 0;

  constructor(readonly dir: string) {}

  /** The environment the module needs: SoftHSM's config and this control directory. */
  moduleEnv(token: Pick<TestToken, 'conf'>): Record<string, string> {
    return { SOFTHSM2_CONF: token.conf, SMARTCARD_CONTROL_DIR: this.dir };
  }

  /** The same environment as the product's PKCS11_ENV value. */
  pkcs11Env(token: Pick<TestToken, 'conf'>): string {
    return Object.entries(this.moduleEnv(token))
      .map(([name, value]) => `${name}=${value}`)
      .join(',');
  }

  /** Each signature takes `latencyMs` plus a uniform random 0..`jitterMs`, holding the token. */
  setSignLatency(latencyMs: number, jitterMs = 0): void {
    this.update({ sign_latency_ms: checkedCount('latency', latencyMs), sign_jitter_ms: checkedCount('jitter', jitterMs) });
  }

  setMaxPinTries(tries: number): void {
    if (checkedCount('PIN tries', tries) === 0) throw new RangeError('PIN tries must be at least 1');
    this.update({ max_pin_tries: tries });
  }

  /** Pulls the token out: calls in flight and on open sessions fail, the slot shows no token. */
  removeToken(): void {
    this.update({ present: 0 });
  }

  /** Puts the token (back) in: it appears under a new slot id, every earlier session and login gone. */
  insertToken(): void {
    this.insertion += 1;
    this.update({ present: 1, insertion: this.insertion });
  }

  /** The next `count` signatures fail with CKR_DEVICE_ERROR (counted from now, replacing an unfinished batch). */
  injectDeviceErrors(count: number): void {
    this.update({ device_error_next: checkedCount('device error count', count), device_error_request: randomBytes(8).toString('hex') });
  }

  /** Each signature fails with CKR_DEVICE_ERROR with this probability (0 to 1). */
  setDeviceErrorRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`device error rate must be within 0..1, got ${rate}`);
    this.update({ device_error_rate: rate });
  }

  /** Clears the wrong-PIN count and the lock, as an unlock done elsewhere would. */
  resetPinCounter(): void {
    this.update({ pin_reset_request: randomBytes(8).toString('hex') });
  }

  /** Every signature the token made or refused so far, in the order they finished. */
  signatures(): SignatureRecord[] {
    const text = readFileSync(join(this.dir, 'signatures.log'), 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [start, end, pid, rv] = line.split(' ');
        if (rv === undefined || !rv.startsWith('0x')) throw new Error(`malformed signature log line: ${line}`);
        return { startMs: Number(start), endMs: Number(end), pid: Number(pid), rv: Number.parseInt(rv.slice(2), 16) };
      });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Rewrites the whole control file and renames it into place, so that the module never reads half of it. */
  private update(changes: Readonly<Record<string, number | string>>): void {
    for (const [key, value] of Object.entries(changes)) this.settings.set(key, String(value));
    const text = Array.from(this.settings, ([key, value]) => `${key}=${value}\n`).join('');
    // The directory belongs to the token's owner: a fresh name (O_EXCL) and fchmod, never a path it could have planted.
    const staged = join(this.dir, `.control.${randomBytes(8).toString('hex')}`);
    const fd = openSync(staged, 'wx', 0o644);
    try {
      fchmodSync(fd, 0o644);
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(staged, join(this.dir, 'control'));
  }
}

/** A control directory for a token the module will run as `owner` with (e.g. causer); the token starts present. */
export function createSmartcardControl(owner: string): SmartcardControl {
  const user = systemUser(owner);
  const dir = mkdtempSync('/tmp/etoken-smartcard-');
  try {
    for (const name of SHARED_FILES) {
      closeSync(openSync(join(dir, name), 'wx', 0o644));
      giveTo(join(dir, name), user, 0o644);
    }
    giveTo(dir, user, 0o755);
    const control = new SmartcardControl(dir);
    control.insertToken();
    return control;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
