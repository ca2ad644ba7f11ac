/** The service accounts of the parser and the signer: created when missing, never removed (files may still belong to them). */
import { execFileSync } from 'node:child_process';
import { lookupUser } from '../proc.js';
import type { Change } from './root-files.js';

export function ensureSystemUser(name: string, dryRun: boolean): Change {
  if (lookupUser(name)) return 'unchanged';
  if (!dryRun) {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/', '--shell', '/usr/sbin/nologin', name], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
  return 'created';
}

