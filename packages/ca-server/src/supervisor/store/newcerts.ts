/**
 * newcerts/<SERIAL>.pem: each certificate as `openssl ca` keeps it, derived
 * from its journal record. Written without a flush after the answer; a
 * checkpoint flushes the files written since the one before (and the
 * directory) before it puts their records out of replay, and start-up
 * rewrites the files of replayed records that are missing or incomplete.
 * A file that cannot be written (disk full) is removed rather than left
 * incomplete, kept in memory until it can be, and answered from there.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pemBytes } from '@etoken-ca/x509/pem';
import { unlinkQuietly } from '@etoken-ca/contract/io/atomic-file';
import { flushFiles } from './file-flusher.js';
import { storeError, StoreError } from './store-error.js';

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  return pemBytes(der, label).toString('latin1');
}

export class NewcertsFiles {
  /** Serials to flush at the next checkpoint: written since it last took the list, or found at start-up. */
  private written: string[] = [];
  /** DER of certificates whose file could not be written. */
  private readonly behind = new Map<string, Buffer>();

  constructor(
    readonly dir: string,
    private readonly onFailure: (error: StoreError, serial: string) => void,
  ) {}

  path(serial: string): string {
    return join(this.dir, `${serial}.pem`);
  }

  get behindCount(): number {
    return this.behind.size;
  }

  /** Writes a new certificate's file, unflushed; never throws (a failure keeps it behind). `mayExist`: an import, whose file may be there already. */
  write(serial: string, der: Buffer, mayExist = false): void {
    try {
      writeFileSync(this.path(serial), pemBytes(der, 'CERTIFICATE'), { flag: 'wx', mode: 0o644 });
      this.written.push(serial);
    } catch (e) {
      if (mayExist && (e as NodeJS.ErrnoException).code === 'EEXIST') return;
      unlinkQuietly(this.path(serial));
      this.behind.set(serial, der);
      this.onFailure(storeError(e, `newcerts/${serial}.pem`), serial);
    }
  }

  /**
   * Writes the file unless it holds exactly this certificate already (start-up, after a crash), and lists it to be
   * flushed either way: a process that died may have left it in the page cache only. Returns whether it wrote.
   */
  ensure(serial: string, der: Buffer): boolean {
    const pem = pemBytes(der, 'CERTIFICATE');
    let current: Buffer | null = null;
    try {
      current = readFileSync(this.path(serial));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (current?.equals(pem)) {
      this.written.push(serial);
      return false;
    }
    try {
      writeFileSync(this.path(serial), pem, { mode: 0o644 });
      this.written.push(serial);
    } catch (e) {
      unlinkQuietly(this.path(serial));
      this.behind.set(serial, der);
      this.onFailure(storeError(e, `newcerts/${serial}.pem`), serial);
    }
    return true;
  }

  /** The certificate of an earlier issuance, as PEM. Throws when its file cannot be read. */
  pem(serial: string): string {
    const der = this.behind.get(serial);
    return der ? pemBytes(der, 'CERTIFICATE').toString('latin1') : readFileSync(this.path(serial), 'latin1');
  }

  /** Writes the files that could not be written before; throws at the first that still cannot be. */
  catchUp(): void {
    for (const [serial, der] of this.behind) {
      try {
        writeFileSync(this.path(serial), pemBytes(der, 'CERTIFICATE'), { mode: 0o644 });
      } catch (e) {
        unlinkQuietly(this.path(serial));
        throw storeError(e, `newcerts/${serial}.pem`);
      }
      this.behind.delete(serial);
      this.written.push(serial);
    }
  }

  /** Takes the list of files written since the last call (a checkpoint flushes them); putBack() returns it when the checkpoint fails. */
  takeWritten(): string[] {
    const taken = this.written;
    this.written = [];
    return taken;
  }

  putBack(serials: string[]): void {
    for (const serial of this.written) serials.push(serial);
    this.written = serials;
  }

  /** Flushes these files, then the directory (file-flusher.ts). */
  async flush(serials: readonly string[]): Promise<void> {
    try {
      await flushFiles(
        serials.map((serial) => this.path(serial)),
        [this.dir],
      );
    } catch (e) {
      throw storeError(e, 'newcerts/: fsync');
    }
  }
}
