/**
 * Crashes in the middle of SCEP enrollments, on the real chain: the CA
 * server killed (SIGKILL, at fault points of the SCEP workflow) from the
 * workflow's record to the flush of its certificate, the parser and the
 * signer killed mid-request, the SCEP front end and the server killed while
 * a request waits for approval. After each restart the client asks again
 * as clients do, with the same message: no workflow is lost, it gets one
 * certificate, no certificate is issued twice (one valid certificate per
 * subject, whatever was withheld on the way) and no serial is used twice.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FaultPoint } from '@etoken-ca/contract/io/fault-point';
import { csrOf, pkiMessage, selfSignedIdentity } from '../../packages/scep-server/src/testing/pki-messages.js';
import { armFault, disarmFaults } from '../helpers/faults.js';
import { startScepCa, type ScepCa } from '../helpers/scep-ca.js';
import { pollUntil } from '../helpers/wait-until.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 600_000 });

let ca: ScepCa;
let raCertificate: Buffer;

/** One HTTP round trip: the CertRep's pkiStatus (openssl reads it), or the HTTP status when there was none. */
async function send(message: Buffer): Promise<{ status: string }> {
  let response: Response;
  try {
    response = await fetch(`${ca.url}?operation=PKIOperation`, { method: 'POST', body: new Uint8Array(message) });
  } catch {
    return { status: 'unreachable' };
  }
  if (response.status !== 200) return { status: `HTTP ${response.status}` };
  const reply = Buffer.from(await response.arrayBuffer());
  const text = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: reply }).toString('latin1');
  const at = text.indexOf('2.16.840.1.113733.1.9.3');
  const status = /PRINTABLESTRING:([^\n]*)/.exec(text.slice(at))?.[1]?.trim();
  return { status: { '0': 'SUCCESS', '2': 'FAILURE', '3': 'PENDING' }[status ?? ''] ?? `unknown ${status}` };
}

/** The client's way after a crash: the same message again until the CA answers with an end. */
async function untilAnswered(message: Buffer, what: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 120; i++) {
    last = (await send(message)).status;
    if (last === 'SUCCESS' || last === 'FAILURE') return last;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what}: still ${last}`);
}

function indexLines(): string[][] {
  return readFileSync(join(ca.fixture.caDir, 'index.txt'), 'utf8').split('\n').filter(Boolean).map((line) => line.split('\t'));
}

/** One valid certificate for the subject, every serial once in the database. */
function expectIssuedOnce(subject: string): void {
  const lines = indexLines();
  const serials = lines.map((l) => l[3]);
  expect(new Set(serials).size, 'a serial used twice').toBe(serials.length);
  expect(lines.filter((l) => l[5] === subject && l[0] === 'V').map((l) => l[3]), `valid certificates of ${subject}`).toHaveLength(1);
}

beforeAll(async () => {
  ca = await startScepCa(`e2e-scep-crash-${process.pid}`, { SCEP_UNAUTHENTICATED: 'wait', SCEP_ANSWER_WAIT: '3', TOKEN_POLL_INTERVAL: '1' });
  raCertificate = new X509Certificate(readFileSync(join(ca.fixture.dir, 'scep', 'ra.pem'))).raw;
});

afterAll(async () => {
  disarmFaults(ca.fixture);
  await ca?.stop();
});

const serverPoints: FaultPoint[] = [
  'server.after-received',
  'server.after-parse',
  'server.scep-after-workflow-recorded',
  'server.scep-after-reserve',
  'server.scep-after-signer-returned',
  'server.scep-after-issue-appended',
  'server.scep-after-flush',
];
const workerPoints: FaultPoint[] = ['parser.on-receipt', 'parser.before-reply', 'signer.on-receipt', 'signer.after-sign'];

describe('a crash during an enrollment with a challenge', () => {
  for (const point of [...serverPoints, ...workerPoints]) {
    it(`at ${point}: the same request afterwards gets one certificate`, async () => {
      const subject = `/DC=org/DC=example/OU=hosts/CN=crash-${point.replace(/[^a-z]/g, '')}.example.org`;
      const identity = selfSignedIdentity(subject);
      const message = pkiMessage(identity, csrOf(identity, subject, { challenge: ca.challenge(subject) }), { messageType: '19', transactionId: randomBytes(16).toString('hex'), recipient: raCertificate });
      armFault(ca.fixture, point);
      const first = await send(message);
      expect(first.status, `${point}: first answer`).not.toBe('FAILURE');
      if (point.startsWith('server.')) {
        // A deadline for a stuck server, not a speed limit: with other suites beside it the signature can take long.
        await pollUntil(() => ca.server.exited, 120_000, () => `the server did not die at ${point}; its last records: ${JSON.stringify(ca.server.logs.slice(-6))}`);
        expect(ca.server.child.signalCode).toBe('SIGKILL');
        disarmFaults(ca.fixture);
        await ca.restartServer();
      } else {
        await ca.server.waitFor('worker.exited');
        disarmFaults(ca.fixture);
      }
      expect(await untilAnswered(message, point)).toBe('SUCCESS');
      expectIssuedOnce(subject);
      // And again: the recorded answer, nothing signed anew.
      const valid = indexLines().length;
      expect(await untilAnswered(message, `${point}, repeated`)).toBe('SUCCESS');
      expect(indexLines()).toHaveLength(valid);
    });
  }
});

describe('crashes while a request waits for approval', () => {
  it('keeps the workflow through kill -9 of the front end and of the server, and issues it once after the approval', async () => {
    const subject = '/DC=org/DC=example/OU=hosts/CN=waiting.example.org';
    const identity = selfSignedIdentity(subject);
    const message = pkiMessage(identity, csrOf(identity, subject), { messageType: '19', transactionId: randomBytes(16).toString('hex'), recipient: raCertificate });
    expect((await send(message)).status).toBe('PENDING');

    ca.front.child.kill('SIGKILL');
    await ca.front.exit();
    ca.server.child.kill('SIGKILL');
    await ca.restartServer();
    await ca.restartFront();
    expect((await send(message)).status).toBe('PENDING');
    const waiting = JSON.parse(ca.command(['pending', '--json']).stdout) as { transactionId: string; subject: string }[];
    const mine = waiting.find((w) => w.subject === subject);
    expect(mine).toBeDefined();

    // The server dies in the middle of issuing what the approval allowed; the approval is in the journal already.
    armFault(ca.fixture, 'server.scep-after-reserve');
    const approval = ca.command(['approve', mine!.transactionId, '--timeout', '5']);
    await pollUntil(() => ca.server.exited, 30_000, () => 'the server did not die while issuing');
    disarmFaults(ca.fixture);
    expect([0, 75]).toContain(approval.code);
    await ca.restartServer();
    expect(await untilAnswered(message, 'after the approval')).toBe('SUCCESS');
    expectIssuedOnce(subject);
    expect(JSON.parse(ca.command(['pending', '--json']).stdout).map((w: { subject: string }) => w.subject)).not.toContain(subject);
  });
});
