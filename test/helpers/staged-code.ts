/**
 * Where the tests, the demo and the bench run the product from: a copy
 * installed by the product's own installer (`install --prefix`) into a
 * root-owned scratch prefix, not the checkout. The unprivileged processes
 * (myproxy's client, caparse's parser, causer's signer) must read their code,
 * and a checkout may sit where they cannot (root's home is 0700); the copy
 * is also what production runs, wrappers and all. Staging is incremental: an
 * unchanged build changes nothing there.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_BUILD_MARKER } from '@etoken-ca/contract/io/fault-point';
import { findRepo } from './repo.js';

export const REPO = findRepo(import.meta.dirname);
/** One prefix per checkout, so two checkouts never share code. */
export const STAGE = `/var/tmp/etoken-ca-code-${createHash('sha256').update(realpathSync(REPO)).digest('hex').slice(0, 12)}`;
export const SERVER_BIN = join(STAGE, 'usr/local/sbin/etoken-ca-server');
export const REVOKE_BIN = join(STAGE, 'usr/local/sbin/revoke-cert');
export const CLIENT_BIN = join(STAGE, 'usr/local/bin/etoken-ca-client');
/** The installed ca-server package: its dist/ is what the staged server runs. */
export const STAGED_SERVER_PACKAGE = join(STAGE, 'usr/local/lib/etoken-ca/node_modules/@etoken-ca/ca-server');
/** The checkout's own server program, which installs. */
export const CHECKOUT_SERVER = join(REPO, 'packages/ca-server/bin/etoken-ca-server.js');

/** A directory root owns and no one else may write, or none yet; anything else at that path is refused. */
function checkRootOwned(path: string): void {
  const found = lstatSync(path, { throwIfNoEntry: false });
  if (!found) return;
  if (!found.isDirectory() || found.uid !== 0 || (found.mode & 0o022) !== 0) {
    throw new Error(`${path} exists but is not a directory owned and writable by root alone: remove it and run again`);
  }
}

/** Installs the current build into `prefix` (root-owned, 0755); throws with the installer's output on failure. */
export function installInto(prefix: string): void {
  checkRootOwned(prefix);
  mkdirSync(prefix, { recursive: true });
  chmodSync(prefix, 0o755);
  const run = spawnSync(process.execPath, [CHECKOUT_SERVER, 'install', '--prefix', prefix], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (run.status !== 0) throw new Error(`staging the code into ${prefix} failed (exit ${run.status}): ${run.stderr.trim() || run.stdout.trim()}`);
}

/** Stages the build; with `faultPoints` the copy is a test build (fault points honoured where a test arms them), else it is not. */
export function stageCode(options: { faultPoints: boolean }): void {
  installInto(STAGE);
  const marker = join(STAGE, TEST_BUILD_MARKER);
  if (options.faultPoints) writeFileSync(marker, 'fault points of this copy are honoured: test use only\n', { mode: 0o644 });
  else rmSync(marker, { force: true });
}
