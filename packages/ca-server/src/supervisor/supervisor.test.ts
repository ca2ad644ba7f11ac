/**
 * The issuance pipeline (supervisor.ts) with fakes at its ports: the parser
 * and the token are scripted, the signed-answer checks say what the test
 * says; the spool, the CA store (journal, index.txt, newcerts/) and /proc are
 * real. Each outcome of a signature is followed to the journal, index.txt and
 * the answer the client would read. Runs as root, like the server: spool
 * files belong to a client uid, and a live process of that uid waits.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { decodeJournal, type JournalRecord } from '@etoken-ca/contract/core/cadb/journal';
import { answerFile, formatLockTarget, lockFile, parseAnswer, requestFile, spoolLayout, startTimeFromStat, type Answer, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import type { ParsedRequest } from '@etoken-ca/protocol/parser-messages';
import type { SignCertRequest } from '@etoken-ca/protocol/signer-messages';
import { parseCaCertificate, type CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { keys, rsaCsr } from '../../../../test/corpus/csr-builder.js';
import { request } from '../../../../test/corpus/requests.js';
import type { AuditLog, AuditRecord } from './audit-log.js';
import { tokenSignQueue } from './sign-queue.js';
import type { SignedAnswerChecks } from './signed-answers.js';
import { CaStore } from './store/ca-store.js';
import { Supervisor } from './supervisor.js';
import type { SignOutcome, TokenManager, TokenState } from './token-manager.js';
import type { ParserClient } from './workers/parser-client.js';

const CLIENT_UID = 4243;
const config = parseConfig('DN_FORMAT=/DC=org%s\nCLIENT_TIMEOUT=60\n', 'unit.conf');
const bytes = request(rsaCsr(keys().rsa2048), { username: '/O=Example/CN=Jane', proxyLifetime: '3600' });
const honest: ParsedRequest = {
  subject: [{ type: 'DC', value: 'org' }, { type: 'O', value: 'Example' }, { type: 'CN', value: 'Jane' }],
  emails: [],
  proxyLifetime: 3600,
  maxCertLifetime: 0,
  spki: keys().rsa2048.publicKey.export({ type: 'spki', format: 'der' }),
};
/** What the fake token hands back as a certificate: the store and the answer carry it as it is. */
const DER = Buffer.from('a certificate, as far as this test is concerned');

let ca: CaCertificate;
let dir: string;
let layout: SpoolLayout;
let store: CaStore;
let client: ChildProcess;
let logs: AuditRecord[];
let n = 0;

class FakeToken {
  state: TokenState = 'ready';
  readonly asked: SignCertRequest[] = [];
  readonly distrusted: string[] = [];
  private readonly listeners: Array<() => void> = [];
  constructor(private readonly outcomes: SignOutcome[]) {}
  onStateChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  setState(state: TokenState): void {
    this.state = state;
    for (const l of this.listeners) l();
  }
  sign(request: SignCertRequest): Promise<SignOutcome> {
    this.asked.push(request);
    const outcome = this.outcomes.shift() ?? { kind: 'signed', der: DER, stable: true };
    // Not sent: the token went away as the request was taken (the real token manager says so the same way).
    if (outcome.kind === 'not-sent') this.setState('waiting-pin');
    return Promise.resolve(outcome);
  }
  distrustSigner(id: string, reason: string): void {
    this.distrusted.push(`${id}: ${reason}`);
  }
}

class FakeParser {
  readonly distrusted: string[] = [];
  constructor(private readonly fields: ParsedRequest = honest) {}
  parse(): Promise<unknown> {
    return Promise.resolve({ ok: true, fields: this.fields });
  }
  distrust(id: string, reason: string): void {
    this.distrusted.push(`${id}: ${reason}`);
  }
}

const log: AuditLog = {
  info: (r) => void logs.push(r),
  warn: (r) => void logs.push(r),
  error: (r) => void logs.push(r),
};

function supervisor(token: FakeToken, parser = new FakeParser(), checks: Partial<SignedAnswerChecks> = {}, clock?: () => number): Supervisor {
  return new Supervisor({
    ...(clock && { clock }),
    config,
    layout,
    store,
    parser: parser as unknown as ParserClient,
    token: token as unknown as TokenManager,
    queue: tokenSignQueue(token, Date.now),
    log,
    clientGid: 0,
    ca,
    checks: { certificate: () => null, crlSignature: () => true, ...checks },
  });
}

/** A request published as a client does: the request file, then the lock naming a live process of the client's account. */
function publish(): string {
  const id = (++n).toString(16).padStart(32, '0');
  writeFileSync(requestFile(layout, id), bytes, { mode: 0o600 });
  chownSync(requestFile(layout, id), CLIENT_UID, CLIENT_UID);
  const startTime = startTimeFromStat(readFileSync(`/proc/${client.pid}/stat`, 'latin1'))!;
  symlinkSync(formatLockTarget({ pid: client.pid!, startTime }), lockFile(layout, id));
  lchownSync(lockFile(layout, id), CLIENT_UID, CLIENT_UID);
  return id;
}

async function answerTo(id: string): Promise<Answer> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(answerFile(layout, id))) {
    if (Date.now() > deadline) throw new Error(`no answer to ${id}; log: ${JSON.stringify(logs)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const answer = parseAnswer(readFileSync(answerFile(layout, id), 'utf8'));
  if (!answer) throw new Error(`unreadable answer to ${id}`);
  return answer;
}

/** The journal as a restarted server would read it: only what was flushed counts, and the test reads the file. */
function journal(): JournalRecord[] {
  const jdir = join(dir, 'ca', 'journal');
  return readdirSync(jdir)
    .sort()
    .flatMap((name) => decodeJournal(readFileSync(join(jdir, name))).records);
}

const recordsOf = (id: string): string[] => journal().flatMap((r) => ('req' in r && r.req === id ? [r.t] : []));
const indexLines = (): string[] => readFileSync(join(dir, 'ca', 'index.txt'), 'utf8').split('\n').filter(Boolean);
const events = (event: string): AuditRecord[] => logs.filter((r) => r.event === event);

beforeAll(() => {
  const caDir = mkdtempSync(join(tmpdir(), 'supervisor-ca-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(caDir, 'key'), '-out', join(caDir, 'cert'), '-days', '30', '-subj', '/DC=org/CN=Unit CA'], { stdio: 'ignore' });
    ca = parseCaCertificate(readFileSync(join(caDir, 'cert')));
  } finally {
    rmSync(caDir, { recursive: true, force: true });
  }
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
  layout = spoolLayout(join(dir, 'spool'));
  mkdirSync(layout.incoming, { recursive: true });
  mkdirSync(layout.answers, { recursive: true });
  store = await CaStore.open(join(dir, 'ca'));
  logs = [];
  // The waiting client: a live process of the client's account, as the lock says.
  client = spawn('sleep', ['600'], { uid: CLIENT_UID, gid: CLIENT_UID, stdio: 'ignore' });
});

afterEach(() => {
  client.kill('SIGKILL');
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(process.getuid?.() === 0)('the issuance pipeline', () => {
  it('reserves a serial, signs once, flushes the issue record, then answers with the certificate', async () => {
    const token = new FakeToken([]);
    // The journal flush held until the test lets it finish: no answer may be visible before.
    const flush = store.commit.bind(store);
    let release = (): void => undefined;
    const flushes: string[][] = [];
    store.commit = async () => {
      flushes.push(journal().map((r) => r.t));
      await new Promise<void>((resolve) => (release = resolve));
      return flush();
    };
    const id = publish();
    supervisor(token).onLock(id);
    await expect.poll(() => flushes.length).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushes[0]!.slice(-2)).toEqual(['reserve', 'issue']);
    expect(existsSync(answerFile(layout, id))).toBe(false);
    release();
    const answer = await answerTo(id);
    expect(answer).toMatchObject({ status: 'issued', pem: expect.stringContaining('-----BEGIN CERTIFICATE-----') });
    if (answer.status !== 'issued') return;
    expect(Buffer.from(answer.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')).toEqual(DER);
    expect(recordsOf(id).slice(0, 2)).toEqual(['reserve', 'issue']);
    expect(token.asked).toHaveLength(1);
    expect(token.asked[0]!.content.serial).toBe(answer.serial);
    await expect.poll(() => events('cert.issued').length).toBe(1);
    expect(indexLines()).toEqual([expect.stringMatching(new RegExp(`^V\\t\\d+Z\\t\\t${answer.serial}\\tunknown\\t/DC=org/O=Example/CN=Jane$`))]);
    expect(existsSync(join(dir, 'ca', 'newcerts', `${answer.serial}.pem`))).toBe(true);
  });

  it('answers a repeated request from its record, without signing again', async () => {
    const token = new FakeToken([]);
    const s = supervisor(token);
    const id = publish();
    s.onLock(id);
    const first = await answerTo(id);
    await expect.poll(() => recordsOf(id)).toContain('answer');
    // The client read its answer and left; the same request id comes again.
    rmSync(answerFile(layout, id));
    s.onLock(id);
    expect(await answerTo(id)).toEqual(first);
    expect(token.asked).toHaveLength(1);
    expect(events('request.repeated')).toHaveLength(1);
  });

  it('refuses a request read after its client\'s deadline as such, not as busy, and signs nothing', async () => {
    const token = new FakeToken([]);
    // Read 61 s after its file was written and its client started (CLIENT_TIMEOUT 60): a client that gave up already.
    const later = Date.now() + 61_000;
    const id = publish();
    supervisor(token, new FakeParser(), {}, () => later).onLock(id);
    const answer = await answerTo(id);
    expect(answer).toMatchObject({ status: 'refused', exit: 75, reason: 'request older than CLIENT_TIMEOUT when the CA read it; try again' });
    expect(token.asked).toEqual([]);
    expect(recordsOf(id)).toEqual(['refuse']);
  });

  it.each<[string, SignOutcome, RegExp]>([
    ['a signature across a token change', { kind: 'signed', der: DER, stable: false }, /the token was removed or changed during signing/],
    ['a signer that exited mid-signature', { kind: 'lost', loss: 'exited', reason: 'signer exited' }, /the signer stopped during signing/],
    ['a token gone mid-signature', { kind: 'lost', loss: 'token-gone', reason: 'token gone' }, /the token was removed or failed during signing/],
  ])('withholds the serial of %s: revoked as cessationOfOperation, the client told to try again', async (_, outcome, why) => {
    const token = new FakeToken([outcome]);
    const id = publish();
    supervisor(token).onLock(id);
    const answer = await answerTo(id);
    expect(answer).toMatchObject({ status: 'refused', exit: 75 });
    if (answer.status !== 'refused') return;
    expect(answer.reason).toMatch(why);
    expect(answer.reason).toMatch(/^certificate withheld: .*; try again$/);
    const serial = token.asked[0]!.content.serial;
    expect(recordsOf(id)).toEqual(['reserve', 'withhold']);
    expect(indexLines()).toEqual([expect.stringMatching(new RegExp(`^R\\t\\d+Z\\t\\d+Z,cessationOfOperation\\t${serial}\\t`))]);
    expect(events('cert.withheld')).toMatchObject([{ req: id, serial }]);
    expect(events('cert.issued')).toEqual([]);
  });

  it("withholds a certificate that fails the supervisor's check, and stops trusting the signer", async () => {
    const token = new FakeToken([]);
    const id = publish();
    supervisor(token, new FakeParser(), { certificate: () => 'not the certificate the template gives for this request' }).onLock(id);
    expect(await answerTo(id)).toMatchObject({ status: 'refused', exit: 75, reason: expect.stringMatching(/the signer's answer failed its checks/) });
    expect(token.distrusted).toEqual([`${id}: not the certificate the template gives for this request`]);
    expect(recordsOf(id)).toEqual(['reserve', 'withhold']);
  });

  it('releases the serial of a signature that never reached the token, and signs under a new one once the token is back', async () => {
    const token = new FakeToken([{ kind: 'not-sent' }]);
    const s = supervisor(token);
    const id = publish();
    s.onLock(id);
    await expect.poll(() => token.asked.length).toBe(1);
    const [firstSerial] = token.asked.map((r) => r.content.serial);
    // The request waits at the head of the queue for the token.
    await expect.poll(() => journal().some((r) => r.t === 'release' && r.serial === firstSerial)).toBe(true);
    expect(existsSync(answerFile(layout, id))).toBe(false);
    token.setState('ready');
    const answer = await answerTo(id);
    expect(answer.status).toBe('issued');
    expect(token.asked).toHaveLength(2);
    if (answer.status === 'issued') expect(answer.serial).not.toBe(firstSerial);
    expect(indexLines()).toHaveLength(1);
  });

  it("refuses what the signer refuses, releasing the serial with the refusal, and what a failing token cannot sign, without a serial", async () => {
    const token = new FakeToken([{ kind: 'refused', reason: 'invariant: subject outside the namespace' }]);
    const s = supervisor(token);
    const id = publish();
    s.onLock(id);
    expect(await answerTo(id)).toEqual({ status: 'refused', exit: 65, reason: 'invariant: subject outside the namespace' });
    const refusal = journal().find((r) => r.t === 'refuse' && r.req === id);
    expect(refusal).toMatchObject({ serial: token.asked[0]!.content.serial });

    token.setState('failing');
    const other = publish();
    s.onLock(other);
    expect(await answerTo(other)).toMatchObject({ status: 'refused', exit: 69, reason: expect.stringMatching(/failing and signing is stopped/) });
    expect(recordsOf(other)).toEqual(['refuse']);
    expect(token.asked).toHaveLength(1);
    expect(indexLines()).toEqual([]);
  });

  it("catches a parser whose answer is not the request's: distrusted, refused as temporary, nothing reserved", async () => {
    const token = new FakeToken([]);
    const parser = new FakeParser({ ...honest, subject: [{ type: 'DC', value: 'org' }, { type: 'CN', value: 'Mallory' }] });
    const id = publish();
    supervisor(token, parser).onLock(id);
    expect(await answerTo(id)).toMatchObject({ status: 'refused', exit: 75, reason: expect.stringMatching(/request parser failed/) });
    expect(parser.distrusted).toEqual([expect.stringMatching(/subject is not the one the username gives/)]);
    expect(token.asked).toEqual([]);
    expect(recordsOf(id)).toEqual(['refuse']);
  });
});
