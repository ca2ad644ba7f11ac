/**
 * A stand-in for etoken-ca-server's spool side, to test the client alone: it
 * watches a temp spool's incoming directory (as root), reads each published
 * request, and answers it the way the real server does (one JSON line written
 * to a root-only temp name, owner root, group of the client, 0640, renamed
 * into place; removed once the client's lock is gone). What it answers is up
 * to the test: a certificate from a software CA made with openssl, built by
 * the product's template for the request's username (as the real server
 * does), one for another key or from another CA, a refusal, or nothing.
 */
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  type FSWatcher,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  watch,
  writeSync,
} from 'node:fs';
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '@etoken-ca/contract/core/config';
import { parseRequest } from '@etoken-ca/contract/core/request';
import { requestedName } from '@etoken-ca/contract/core/request-name';
import { randomSerial } from '@etoken-ca/contract/core/serial';
import { parseCaCertificate } from '@etoken-ca/x509/ca-certificate';
import { csrSubjectPublicKeyInfo } from '@etoken-ca/x509/csr-key';
import { derOf, pemBytes } from '@etoken-ca/x509/pem';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { buildTbs, createCertTemplate } from '@etoken-ca/x509/template';
import {
  answerFile,
  ANSWER_FILE_MODE,
  ANSWERS_MODE,
  classifySpoolName,
  formatAnswer,
  INCOMING_MODE,
  lockFile,
  requestFile,
  spoolLayout,
  type Answer,
  type SpoolLayout,
} from '@etoken-ca/contract/core/spool';
import { openssl, type SoftwareCa } from './pki.js';
import type { SystemUser } from './users.js';

export interface SpooledRequest {
  readonly id: string;
  /** The request file's bytes exactly as the client wrote them. */
  readonly bytes: Buffer;
  readonly lockTarget: string;
  readonly csrPem: string;
}

export type Reply =
  | { readonly kind: 'issue'; readonly by?: SoftwareCa; readonly forCsrPem?: string; readonly forUsername?: string }
  | { readonly kind: 'refuse'; readonly exit: number; readonly reason: string }
  | { readonly kind: 'ignore' };

export type Decide = (request: SpooledRequest) => Reply | Promise<Reply>;

/** SPOOL_DIR with incoming (root:client 01730) and answers (root:client 0750), as etoken-ca-server lays them out. */
export function makeSpool(dir: string, client: SystemUser): SpoolLayout {
  const layout = spoolLayout(dir);
  mkdirSync(layout.root, { mode: 0o755 });
  for (const [path, mode] of [[layout.incoming, INCOMING_MODE], [layout.answers, ANSWERS_MODE]] as const) {
    mkdirSync(path);
    chownSync(path, 0, client.gid);
    chmodSync(path, mode);
  }
  return layout;
}

const csrPemOf = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;

export interface TestCsr {
  readonly pem: string;
  readonly publicKey: KeyObject;
}

/** A new RSA-2048 key's CSR, with MyProxy's placeholder subject. */
export async function makeCsr(dir: string, name: string): Promise<TestCsr> {
  const csrPath = join(dir, `${name}.csr`);
  const keyPath = join(dir, `${name}.key`);
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', '/CN=NULL SUBJECT NAME ENTRY']);
  return { pem: readFileSync(csrPath, 'utf8'), publicKey: createPublicKey(readFileSync(keyPath)) };
}

export class FakeServer {
  readonly requests: SpooledRequest[] = [];
  /** Failures of the fake itself; a test checks this stays empty. */
  readonly errors: Error[] = [];
  /** What to answer; tests replace it. */
  decide: Decide = () => ({ kind: 'issue' });
  private readonly handled = new Set<string>();
  private readonly watcher: FSWatcher;

  constructor(
    readonly layout: SpoolLayout,
    private readonly ca: SoftwareCa,
    private readonly clientGid: number,
    private readonly config: Config,
  ) {
    this.watcher = watch(layout.incoming, () => this.scan());
  }

  close(): void {
    this.watcher.close();
  }

  /** Every name in the incoming directory (the client must leave none behind). */
  incoming(): string[] {
    return readdirSync(this.layout.incoming);
  }

  answers(): string[] {
    return readdirSync(this.layout.answers);
  }

  /** A rescan of the whole directory on each event, so a coalesced event loses nothing. */
  private scan(): void {
    const locks = new Set(
      this.incoming()
        .map(classifySpoolName)
        .filter((entry) => entry?.kind === 'lock')
        .map((entry) => entry!.id),
    );
    for (const id of locks) {
      if (this.handled.has(id)) continue;
      this.handled.add(id);
      this.handle(id).catch((e: unknown) => this.errors.push(e as Error));
    }
    for (const id of this.handled) if (!locks.has(id)) rmSync(answerFile(this.layout, id), { force: true });
  }

  private async handle(id: string): Promise<void> {
    const bytes = readFileSync(requestFile(this.layout, id));
    const lockTarget = readlinkSync(lockFile(this.layout, id));
    const request: SpooledRequest = { id, bytes, lockTarget, csrPem: csrPemOf(parseRequest(bytes).csrDer) };
    this.requests.push(request);
    const reply = await this.decide(request);
    if (reply.kind === 'ignore') return;
    if (reply.kind === 'refuse') return this.answer(id, { status: 'refused', exit: reply.exit, reason: reply.reason });
    const serial = randomSerial();
    const pem = this.sign(request, reply.forCsrPem ?? request.csrPem, reply.by ?? this.ca, serial, reply.forUsername);
    this.answer(id, { status: 'issued', serial, pem });
  }

  private sign(request: SpooledRequest, csrPem: string, ca: SoftwareCa, serial: string, username?: string): string {
    const authority = parseCaCertificate(readFileSync(ca.certPath));
    const template = createCertTemplate(this.config, authority);
    const now = Math.floor(Date.now() / 1000) * 1000;
    const spki = csrSubjectPublicKeyInfo(derOf(Buffer.from(csrPem), 'CERTIFICATE REQUEST'));
    const tbs = buildTbs(template, { serial, ...requestedName(username ?? parseRequest(request.bytes).username, this.config), spki, notBefore: now, notAfter: now + 3600_000 });
    const der = assembleSigned(tbs, template.algorithm, sign(template.algorithm.hash, tbs, createPrivateKey(readFileSync(ca.keyPath))));
    return pemBytes(der, 'CERTIFICATE').toString('latin1');
  }

  /** Written under a name the client ignores, then renamed: the client never sees half an answer. */
  private answer(id: string, answer: Answer): void {
    if (!lstatExists(lockFile(this.layout, id))) return;
    const temp = join(this.layout.answers, `.${id}.tmp`);
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      fchownSync(fd, 0, this.clientGid);
      fchmodSync(fd, ANSWER_FILE_MODE);
      writeSync(fd, formatAnswer(answer));
    } finally {
      closeSync(fd);
    }
    renameSync(temp, answerFile(this.layout, id));
  }
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
