/**
 * A request seen again is answered from its recorded outcome, never signed
 * twice: the spool protocol spoken by hand as the myproxy user (request
 * file, lock symlink naming a live myproxy process, answer), the same
 * request id published again after its answer was swept, by the running
 * server and by a restarted one, gets the same certificate (same serial).
 * When the certificate's newcerts/ file cannot be read, the repeat is
 * answered as an internal error and logged, and the server carries on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAnswer, startTimeFromStat, type Answer } from '@etoken-ca/contract/core/spool';
import { ecCsr, keys } from '../corpus/csr-builder.js';
import { request } from '../corpus/requests.js';
import { caProblems } from '../helpers/ca-invariants.js';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { systemUser, type SystemUser } from '../helpers/users.js';
import { pollUntil } from '../helpers/wait-until.js';
import { serialsIn } from '../helpers/withheld-crl.js';

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let myproxy: SystemUser;
/** A live process of the myproxy user: the waiting client a lock names. */
let owner: ChildProcess;
let lockTarget: string;

const incoming = (): string => join(fixture.spoolDir, 'incoming');
const answerPath = (id: string): string => join(fixture.spoolDir, 'answers', `${id}.answer`);

function asMyproxy(script: string, input?: Buffer): void {
  const r = spawnSync('/bin/sh', ['-c', script], { uid: myproxy.uid, gid: myproxy.gid, cwd: incoming(), input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`as myproxy: ${script}: ${r.stderr}`);
}

/** What the client does: the request file (O_EXCL via noclobber), then the lock that publishes it. */
function publish(id: string, bytes: Buffer): void {
  asMyproxy(`umask 077 && set -C && cat > ${id}.req && ln -s ${lockTarget} ${id}.lock`, bytes);
}

/** The client is done (or gone): its files removed; the server sweeps the answer. */
async function withdraw(id: string): Promise<void> {
  asMyproxy(`rm -f ${id}.lock ${id}.req`);
  await pollUntil(() => !existsSync(answerPath(id)), 30_000, () => `the answer of ${id} was not swept`);
}

async function answerOf(id: string): Promise<Answer> {
  await pollUntil(() => existsSync(answerPath(id)), 30_000, () => `no answer for ${id}`);
  const answer = parseAnswer(readFileSync(answerPath(id), 'utf8'));
  if (!answer) throw new Error(`unreadable answer for ${id}`);
  return answer;
}

function issuedSerial(answer: Answer): string {
  if (answer.status !== 'issued') throw new Error(`refused: ${answer.reason}`);
  expect(serialsIn(answer.pem)).toEqual([answer.serial]);
  return answer.serial;
}

const newRequest = (cn: string): { id: string; bytes: Buffer } => ({
  id: randomBytes(16).toString('hex'),
  bytes: request(ecCsr(keys().p256), { username: `/O=Test/CN=${cn}`, proxyLifetime: '3600' }),
});

const signedFor = (id: string): number => server.events('cert.issued').filter((e) => e.req === id).length;

beforeAll(() => {
  myproxy = systemUser('myproxy');
  token = createTestToken({ label: `repeat-${process.pid}`, keyType: 'ec-p256', owner: 'causer' });
  owner = spawn('sleep', ['3600'], { uid: myproxy.uid, gid: myproxy.gid, stdio: 'ignore' });
  lockTarget = `${owner.pid}.${startTimeFromStat(readFileSync(`/proc/${owner.pid}/stat`, 'latin1'))}`;
});

afterAll(() => {
  owner?.kill();
  token?.cleanup();
});

beforeEach(async () => {
  fixture = makeServerFixture(token);
  server = await startServer(fixture, token.pin);
});

afterEach(async () => {
  await server?.stop();
  removeFixture(fixture);
});

describe('a request seen again', () => {
  it('gets the same certificate from the running server and from a restarted one, signed once', async () => {
    const { id, bytes } = newRequest('Repeat User');
    publish(id, bytes);
    const first = await answerOf(id);
    const serial = issuedSerial(first);
    await withdraw(id);

    publish(id, bytes);
    const again = await answerOf(id);
    expect(issuedSerial(again)).toBe(serial);
    expect(again).toEqual(first);
    await server.waitFor('request.repeated', 1, 30_000, (e) => e.req === id);
    await withdraw(id);

    await server.stop();
    server = await startServer(fixture, token.pin);
    publish(id, bytes);
    const afterRestart = await answerOf(id);
    expect(issuedSerial(afterRestart)).toBe(serial);
    await server.waitFor('request.repeated', 1, 30_000, (e) => e.req === id);
    expect(signedFor(id)).toBe(0);
    await withdraw(id);

    const { problems, snapshot } = caProblems(fixture.caDir, [serial]);
    expect(problems).toEqual([]);
    expect(snapshot.records.filter((r) => r.t === 'issue' && r.req === id)).toHaveLength(1);
  });

  it("is answered as an internal error, and logged, when its certificate's newcerts/ file cannot be read; the server carries on", async () => {
    const { id, bytes } = newRequest('Unreadable User');
    publish(id, bytes);
    const serial = issuedSerial(await answerOf(id));
    await withdraw(id);

    // A directory where the certificate's file was: reading it fails (EISDIR) for root too.
    const newcert = join(fixture.caDir, 'newcerts', `${serial}.pem`);
    renameSync(newcert, `${newcert}.aside`);
    mkdirSync(newcert);
    try {
      publish(id, bytes);
      const answer = await answerOf(id);
      expect(answer).toEqual({ status: 'refused', exit: 70, reason: 'internal error in etoken-ca-server' });
      const [failed] = await server.waitFor('request.failed', 1, 30_000, (e) => e.req === id);
      expect(failed).toMatchObject({ serial, level: 50 });
      expect(String(failed!.err)).toMatch(/EISDIR/);
      await withdraw(id);
    } finally {
      rmdirSync(newcert);
      renameSync(`${newcert}.aside`, newcert);
    }

    expect(server.exited).toBe(false);
    const other = newRequest('After Failure User');
    publish(other.id, other.bytes);
    expect(issuedSerial(await answerOf(other.id))).not.toBe(serial);
    // The file readable again: the repeat is answered with the certificate.
    publish(id, bytes);
    expect(issuedSerial(await answerOf(id))).toBe(serial);
    await withdraw(id);
    await withdraw(other.id);
    expect(signedFor(id)).toBe(1);
  });
});
