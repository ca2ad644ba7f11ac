/**
 * Root does not trust its workers. A test build of the parser and one of the
 * signer (the installed code with one module replaced by a liar that reads
 * what to say from `<config>.lie`), started by the real supervisor: every lie
 * about every field they return, and every breach of the protocol, is
 * caught, logged as worker.untrusted, the worker killed and restarted, the
 * request refused or its serial withheld, and no certificate handed out.
 * The short-lived processes the operator's commands start as CA_USER (the
 * token probe of --check, the --token-selftest process) are believed only
 * while they keep to the protocol to their end.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, REVOKE_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { makeCsr } from '../helpers/fake-server.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { runClient, startClient, type ClientResult } from '../helpers/spool-client.js';
import { pollUntil } from '../helpers/wait-until.js';
import { installInto } from '../helpers/staged-code.js';
import { serialsIn, withheldProblems } from '../helpers/withheld-crl.js';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';

const PARSER_LIAR = `// A lying parser, for tests only: the honest answer, then what <config>.lie says.
import { existsSync, readFileSync } from 'node:fs';
import { answer as honest } from './messages.honest.js';
const lieFile = process.argv[process.argv.indexOf('--config') + 1] + '.lie';
export function answer(request, config, report) {
  const result = honest(request, config, report);
  const lie = existsSync(lieFile) ? JSON.parse(readFileSync(lieFile, 'utf8')) : null;
  if (!lie || lie.worker !== 'parser' || result.type !== 'parsed') return result;
  if (lie.raw) process.stdout.write(lie.raw);
  if (lie.id) return { ...result, id: lie.id };
  return { ...result, fields: { ...result.fields, ...lie.fields, ...(lie.spki ? { spki: Buffer.from(lie.spki, 'base64') } : {}) } };
}
`;

const SIGNER_LIAR = `// A lying signer, for tests only: the honest handler with what <config>.lie says done to it (to the requests
// whose subject holds lie.only, when given), after lie.delayMs.
import { existsSync, readFileSync } from 'node:fs';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readCertificateFields } from '@etoken-ca/x509/certificate-fields';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { createSignerHandler as honest } from './certificate-signer.honest.js';
const lieFile = process.argv[process.argv.indexOf('--config') + 1] + '.lie';
export function createSignerHandler(template, ca, token, log) {
  const handler = honest(template, ca, token, log);
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return {
    confirm: (events) => handler.confirm(events),
    handle(request) {
      const lie = existsSync(lieFile) ? JSON.parse(readFileSync(lieFile, 'utf8')) : null;
      if (!lie || lie.worker !== 'signer' || request.type === 'check') return handler.handle(request);
      if (lie.only && !JSON.stringify(request.content?.subject ?? '').includes(lie.only)) return handler.handle(request);
      if (lie.delayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, lie.delayMs);
      if (request.type === 'sign-crl') {
        const event = handler.handle(request);
        return lie.crl && event.type === 'crl' ? { ...event, signature: Buffer.alloc(event.signature.length, 1) } : event;
      }
      const content = { ...request.content, ...lie.content, ...(lie.spki ? { spki: Buffer.from(lie.spki, 'base64') } : {}) };
      const event = handler.handle({ ...request, content });
      if (event.type !== 'cert') return event;
      if (lie.id) return { ...event, id: lie.id };
      if (lie.stranger) {
        const { tbs } = readCertificateFields(event.der);
        return { ...event, der: assembleSigned(tbs, template.algorithm, sign('sha256', tbs, stranger)) };
      }
      return event;
    },
  };
}
`;

/** A lying short-lived process (the token probe, the self-test): the lines and the exit status <config>.lie gives, else the honest program. */
const oneShotLiar = (worker: string, honest: string): string => `// A lying ${worker}, for tests only.
import { existsSync, readFileSync } from 'node:fs';
const lieFile = process.argv[process.argv.indexOf('--config') + 1] + '.lie';
const lie = existsSync(lieFile) ? JSON.parse(readFileSync(lieFile, 'utf8')) : null;
if (lie && lie.worker === '${worker}') {
  process.stdout.write(lie.lines.join(''), () => process.exit(lie.exit));
} else {
  await import('./${honest}');
}
`;

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let stage: string;
let stagedServer: string;
let csrPem: string;
const attackerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

function lie(what: Record<string, unknown> | null): void {
  const file = `${fixture.configPath}.lie`;
  if (what) writeFileSync(file, JSON.stringify(what), { mode: 0o644 });
  else rmSync(file, { force: true });
}

const request = (): Buffer => myproxyRequest(csrPem, { username: '/O=Example/CN=Honest User email=honest@example.org' });

function indexLines(): string[] {
  return readFileSync(join(fixture.caDir, 'index.txt'), 'utf8').split('\n').filter(Boolean);
}

/** The request under a lie: refused or withheld, nothing on stdout, the liar reported; then an honest request is served again. */
async function expectCaught(result: ClientResult, worker: 'parser' | 'signer', before: { untrusted: number; issued: number }): Promise<void> {
  expect(result.code, result.stderr).not.toBe(0);
  expect(result.stdout).toBe('');
  await server.waitFor('worker.untrusted', before.untrusted + 1);
  expect(server.events('worker.untrusted').at(-1)).toMatchObject({ worker });
  expect(server.events('cert.issued')).toHaveLength(before.issued);
  lie(null);
  const honest = await runClient(request(), fixture.configPath);
  expect(honest.code, honest.stderr).toBe(0);
  honestStdouts.push(honest.stdout);
  // The client has its certificate before the server has logged it and added its index line: wait for both, so
  // that what the next case counts starts after them.
  const serial = serialsIn(honest.stdout)[0]!;
  await pollUntil(
    () => server.events('cert.issued').some((e) => e.serial === serial) && indexLines().some((l) => l.split('\t')[3] === serial),
    30_000,
    () => `the honest certificate ${serial} logged and in index.txt`,
  );
}

beforeAll(async () => {
  stage = mkdtempSync('/var/tmp/etoken-ca-liars-');
  installInto(stage);
  const dist = join(stage, 'usr/local/lib/etoken-ca/node_modules/@etoken-ca/ca-server/dist');
  renameSync(join(dist, 'parser/messages.js'), join(dist, 'parser/messages.honest.js'));
  writeFileSync(join(dist, 'parser/messages.js'), PARSER_LIAR, { mode: 0o644 });
  renameSync(join(dist, 'signer/certificate-signer.js'), join(dist, 'signer/certificate-signer.honest.js'));
  writeFileSync(join(dist, 'signer/certificate-signer.js'), SIGNER_LIAR, { mode: 0o644 });
  for (const [worker, main] of [['probe', 'token-probe-main'], ['selftest', 'token-selftest-main']]) {
    renameSync(join(dist, `signer/${main}.js`), join(dist, `signer/${main}.honest.js`));
    writeFileSync(join(dist, `signer/${main}.js`), oneShotLiar(worker!, `${main}.honest.js`), { mode: 0o644 });
  }
  token = createTestToken({ label: `liars-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token, { TOKEN_POLL_INTERVAL: '1' });
  csrPem = (await makeCsr(fixture.dir, 'honest')).pem;
  stagedServer = join(stage, 'usr/local/sbin/etoken-ca-server');
  server = await startServer(fixture, token.pin, true, stagedServer);
});

afterAll(async () => {
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
  if (stage) rmSync(stage, { recursive: true, force: true });
});

/** What clients printed after each lie: none of it may carry a withheld serial. */
const honestStdouts: string[] = [];
let counts: { untrusted: number; issued: number; lines: number };
beforeEach(() => {
  counts = { untrusted: server.events('worker.untrusted').length, issued: server.events('cert.issued').length, lines: indexLines().length };
});

describe('a lying parser', () => {
  it.each([
    ["another user's subject", { fields: { subject: [{ type: 'DC', value: 'org' }, { type: 'DC', value: 'example' }, { type: 'O', value: 'Example' }, { type: 'CN', value: 'Someone Else' }] } }],
    ["the CA's own subject", { fields: { subject: [{ type: 'O', value: 'etoken-ca test' }, { type: 'CN', value: 'Test CA PLACEHOLDER' }] } }],
    ['a subject outside the namespace', { fields: { subject: [{ type: 'O', value: 'Elsewhere' }, { type: 'CN', value: 'Mallory' }] } }],
    ['an email the username does not give', { fields: { emails: ['honest@example.org', 'mallory@example.net'] } }],
    ['a longer lifetime', { fields: { proxyLifetime: 315_360_000 } }],
    ['no max_cert_lifetime', { fields: { maxCertLifetime: 1 } }],
    ["an attacker's key", { spki: attackerKey }],
    ['an answer to a request it was not given', { id: 'f'.repeat(32) }],
    ['a line that is no frame', { raw: 'not a frame\n' }],
    ['a field it was not asked for', { fields: { keyType: 'rsa' } }],
  ])('is caught when it says %s', async (_, what) => {
    const text = JSON.stringify(what).replace('PLACEHOLDER', token.label);
    lie({ worker: 'parser', ...JSON.parse(text) });
    await expectCaught(await runClient(request(), fixture.configPath), 'parser', counts);
    expect(indexLines()).toHaveLength(counts.lines + 1); // the honest one only
  });
});

describe('a lying signer', () => {
  it.each([
    ['a certificate for another subject', { content: { subject: [{ type: 'DC', value: 'org' }, { type: 'DC', value: 'example' }, { type: 'CN', value: 'Someone Else' }] } }],
    ["a certificate for an attacker's key", { spki: attackerKey }],
    ['a certificate with another serial', { content: { serial: '7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF' } }],
    ['a certificate signed by another key', { stranger: true }],
    ['an answer to a request it was not given', { id: 'e'.repeat(32) }],
  ])('is caught when it returns %s: the serial withheld, nothing handed out', async (_, what) => {
    lie({ worker: 'signer', ...what });
    const result = await runClient(request(), fixture.configPath);
    expect(result.stderr).toMatch(/certificate withheld: the signer/);
    await expectCaught(result, 'signer', counts);
    // A lying signer is not a token gone: the PIN it was given stays for the signer started in its place.
    expect(server.events('token.removed')).toEqual([]);
    const withheld = server.events('cert.withheld').at(-1)!;
    expect(indexLines().find((l) => l.split('\t')[3] === withheld.serial)).toMatch(/^R\t\d+Z\t\d+Z,cessationOfOperation\t/);
    // Beyond index.txt: the next published CRL lists it, and no client printed it.
    expect(await withheldProblems(server, [String(withheld.serial)], [result.stdout, ...honestStdouts])).toEqual([]);
  });

  it('is caught with requests queued behind its lie: each of them withheld or signed by the signer started in its place', async () => {
    // The lie takes long enough for the clients started after it to queue up behind it, beyond what is sent ahead.
    lie({ worker: 'signer', only: 'Target User', delayMs: 1500, content: { subject: [{ type: 'DC', value: 'org' }, { type: 'DC', value: 'example' }, { type: 'CN', value: 'Someone Else' }] } });
    const received = server.events('request.received').length;
    const target = startClient(myproxyRequest(csrPem, { username: '/O=Example/CN=Target User' }), fixture.configPath);
    await server.waitFor('request.received', received + 1);
    const behind = Array.from({ length: 30 }, () => startClient(request(), fixture.configPath));
    const results = await Promise.all(behind.map((c) => c.done));
    expect((await target.done).stderr).toMatch(/certificate withheld: the signer/);
    lie(null);
    expect(server.events('worker.untrusted')).toHaveLength(counts.untrusted + 1);
    const outcomes = results.map((r) => (r.code === 0 ? 'signed' : /certificate withheld: the signer/.test(r.stderr) ? 'withheld' : r.stderr.trim()));
    expect(outcomes.filter((o) => o !== 'signed' && o !== 'withheld')).toEqual([]);
    expect(outcomes).toContain('signed');
    honestStdouts.push(...results.map((r) => r.stdout));
  });

  it('is caught when its CRL signature does not verify: the CRL is not published', async () => {
    const honest = await runClient(request(), fixture.configPath);
    expect(honest.code, honest.stderr).toBe(0);
    const serial = serialsIn(honest.stdout)[0]!;
    lie({ worker: 'signer', crl: true });
    const published = server.events('crl.issued').length;
    const queued = spawnSync(REVOKE_BIN, [serial, '--no-wait', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(queued.status, queued.stderr).toBe(0);
    await server.waitFor('crl.not-published', 1, 30_000, (r) => /does not verify/.test(String(r.reason)));
    await server.waitFor('worker.untrusted', counts.untrusted + 1);
    expect(server.events('crl.issued')).toHaveLength(published);
    lie(null);
  });
});

/** The staged server run once more beside the running one, as the operator would (--check, --token-selftest). */
function staged(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(stagedServer, [...args, '--config', fixture.configPath], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('a lying token probe, as --check runs it', () => {
  const found = JSON.stringify({ type: 'probe', ok: true, label: 'any', serial: 'any' }) + '\n';

  it('is believed when it keeps to the protocol (the control)', () => {
    lie({ worker: 'probe', lines: [found], exit: 0 });
    const check = staged(['--check']);
    lie(null);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it.each([
    ['answers twice', [found, found], 0],
    ['follows a good answer with a malformed one', [found, JSON.stringify({ type: 'probe', ok: 'perhaps' }) + '\n'], 0],
    ['says it found the token and exits with a failure', [found], 70],
  ])('is not believed when it %s: the token is reported as a problem', (_, lines, exit) => {
    lie({ worker: 'probe', lines, exit });
    const check = staged(['--check']);
    lie(null);
    expect(check.code, check.stdout + check.stderr).toBe(69);
    expect(check.stdout + check.stderr).toMatch(/the token probe failed/);
  });
});

describe('a lying token self-test process', () => {
  it('is not believed when it times signatures it was never asked to make', () => {
    const timed = JSON.stringify({ type: 'timed', signatures: 5, totalUs: 5000, slowestUs: 1000 }) + '\n';
    lie({ worker: 'selftest', lines: [timed], exit: 0 });
    const selftest = staged(['--token-selftest']);
    lie(null);
    expect(selftest.code, selftest.stdout + selftest.stderr).toBe(70);
    expect(selftest.stdout).toMatch(/the self-test process broke the protocol: timed event out of turn/);
    expect(selftest.stdout).not.toMatch(/signatures\/s/);
  });
});
