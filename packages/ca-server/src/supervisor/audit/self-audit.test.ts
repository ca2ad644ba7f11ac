/**
 * The self-audit with fakes at its ports: a configuration whose files live
 * in a temp directory, a small code tree standing for the installed code,
 * the clock as a number, and a token probe that answers what the test says
 * and records the account it was asked to run as. Accounts are ones every
 * Debian system has (nobody, daemon, root; the groups nogroup and daemon).
 * The path rules want root-owned files, so these tests need root, like the
 * rest of the suite.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '@etoken-ca/contract/core/config';
import type { ProbeAnswer } from '@etoken-ca/protocol/probe-messages';
import { buildTbsCertList, createCrlTemplate } from '@etoken-ca/x509/crl';
import { pemBytes } from '@etoken-ca/x509/pem';
import { makeFileCa, type FileCa } from '../../../../x509/src/testing/file-ca.js';
import type { Account } from '../proc.js';
import { lookupGroup, lookupUser } from '../proc.js';
import { auditExitCode, type Finding } from './findings.js';
import { selfAudit } from './self-audit.js';

const isRoot = process.getuid?.() === 0;
const DAY = 86_400_000;
const authority = makeFileCa({ keyType: 'ec-p256' });

let dir: string;
let probes: Array<{ config: Config; account: Account }>;
let probeAnswer: ProbeAnswer;

/** node_modules/@etoken-ca/{ca-server,revoke-cert,ca-client,scep-server} without dependencies, and the example files. */
function codeTree(root: string): string {
  for (const pkg of ['ca-server', 'revoke-cert', 'ca-client', 'scep-server']) {
    const packageDir = join(root, 'node_modules/@etoken-ca', pkg);
    mkdirSync(join(packageDir, 'dist'), { recursive: true, mode: 0o755 });
    writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: `@etoken-ca/${pkg}` }), { mode: 0o644 });
    writeFileSync(join(packageDir, 'dist', 'main.js'), '', { mode: 0o644 });
  }
  mkdirSync(join(root, 'sysconfig'), { mode: 0o755 });
  writeFileSync(join(root, 'sysconfig/etoken-ca'), '# example\n', { mode: 0o644 });
  mkdirSync(join(root, 'systemd'), { mode: 0o755 });
  writeFileSync(join(root, 'systemd/etoken-ca.service'), '[Unit]\n', { mode: 0o644 });
  writeFileSync(join(root, 'systemd/etoken-ca-scep.service'), '[Unit]\n', { mode: 0o644 });
  return root;
}

interface Setup {
  readonly config: Config;
  readonly codeRoot: string;
  readonly ca: FileCa;
}

/** A sound setup in `dir`; `keys` override the config. */
function setUp(keys: Record<string, string> = {}, ca: FileCa = authority): Setup {
  const caCert = join(dir, 'ca.pem');
  writeFileSync(caCert, ca.pem, { mode: 0o644 });
  const module = join(dir, 'pkcs11.so');
  writeFileSync(module, 'stands for a module: only the probe would load it\n', { mode: 0o644 });
  const all: Record<string, string> = {
    DN_FORMAT: '/O=Example%s',
    PKCS11_MODULE: module,
    CA_CERT: caCert,
    CA_DIR: join(dir, 'ca'),
    CRL_DIR: join(dir, 'crl'),
    REVOKE_QUEUE_DIR: join(dir, 'ca', 'revoke-queue'),
    SPOOL_DIR: join(dir, 'spool'),
    CA_USER: 'nobody',
    PARSER_USER: 'daemon',
    CLIENT_GROUP: 'nogroup',
    ...keys,
  };
  const file = join(dir, 'etoken-ca.conf');
  const text = Object.entries(all).map(([k, v]) => `${k}="${v}"\n`).join('');
  writeFileSync(file, text, { mode: 0o644 });
  return { config: parseConfig(text, file), codeRoot: codeTree(join(dir, 'code')), ca };
}

function audit(setup: Setup, now = Date.now()): Promise<Finding[]> {
  return selfAudit({
    config: setup.config,
    codeRoot: setup.codeRoot,
    now,
    probeToken: (config, account) => {
      probes.push({ config, account });
      return Promise.resolve(probeAnswer);
    },
  });
}

const problems = (findings: readonly Finding[]): string[] => findings.map((f) => f.problem);

function crlSignedBy(ca: FileCa): Buffer {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const tbs = buildTbsCertList(createCrlTemplate(ca.ca), { number: 1, thisUpdate: now, nextUpdate: now + DAY, entries: [] });
  return pemBytes(ca.signTbs(tbs), 'X509 CRL');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'self-audit-'));
  chmodSync(dir, 0o755);
  probes = [];
  probeAnswer = { ok: true, label: 'test', serial: '0123' };
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(isRoot)('selfAudit', () => {
  it('passes a sound setup, and probes the token once, as CA_USER, with the configuration', async () => {
    const setup = setUp();
    expect(await audit(setup)).toEqual([]);
    expect(probes).toHaveLength(1);
    expect(probes[0]!.config).toBe(setup.config);
    expect(probes[0]!.account).toMatchObject({ name: 'nobody', uid: lookupUser('nobody')!.uid });
  });

  it('lists every problem at once, each a configuration problem (78)', async () => {
    const setup = setUp({ CA_USER: 'root', CLIENT_GROUP: 'etoken-no-such-group' });
    chmodSync(setup.config.file, 0o666);
    const findings = await audit(setup, authority.ca.notAfter + 1);
    expect(problems(findings)).toEqual(
      expect.arrayContaining([
        'CA_USER: "root" is root; it must be an unprivileged account',
        'CLIENT_GROUP: no such group "etoken-no-such-group"',
        `config: ${setup.config.file}: world-writable (mode 0666)`,
        expect.stringMatching(/^CA_CERT .*ca\.pem: expired on /),
      ]),
    );
    expect(findings.every((f) => f.kind === 'config')).toBe(true);
    expect(auditExitCode(findings)).toBe(78);
    // No usable CA_USER: nothing to probe the token as.
    expect(probes).toEqual([]);
  });

  it.each([
    ['missing', 'etoken-no-such-user', /^CA_USER: no such user "etoken-no-such-user"$/],
    ['the same as PARSER_USER', 'daemon', /^CA_USER and PARSER_USER must be different accounts$/],
  ])('refuses a CA_USER that is %s', async (_, user, message) => {
    const findings = await audit(setUp({ CA_USER: user }));
    expect(problems(findings)).toEqual([expect.stringMatching(message)]);
  });

  it('judges the CA certificate by its clock', async () => {
    const setup = setUp();
    expect(await audit(setup, authority.ca.notAfter - 1)).toEqual([]);
    expect(problems(await audit(setup, authority.ca.notAfter))).toEqual([expect.stringMatching(/expired on/)]);
  });

  it.each<[string, ProbeAnswer, Partial<Finding>, number]>([
    ['no token present', { ok: false, kind: 'not-found', reason: 'no token labelled test' }, { kind: 'token', tokenAbsent: true }, 69],
    ['a token without the CA key', { ok: false, kind: 'wrong-token', reason: 'not the CA key' }, { kind: 'token', tokenAbsent: false }, 69],
    ['the probe cannot even start as CA_USER', { ok: false, kind: 'setup', reason: 'cannot read the config' }, { kind: 'config' }, 78],
  ])('turns the probe answer into findings: %s', async (_, answer, finding, exit) => {
    probeAnswer = answer;
    const findings = await audit(setUp());
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject(finding);
    expect(findings[0]!.problem).toContain(answer.ok ? '' : answer.reason);
    expect(auditExitCode(findings)).toBe(exit);
  });

  it('a missing PKCS#11 module is a token problem (69), found without probing', async () => {
    const setup = setUp();
    rmSync(setup.config.pkcs11Module);
    const findings = await audit(setup);
    expect(findings).toEqual([{ kind: 'token', problem: `PKCS11_MODULE ${setup.config.pkcs11Module}: no such file` }]);
    expect(auditExitCode(findings)).toBe(69);
    expect(probes).toEqual([]);
  });

  it("accepts the CA's own published CRL and refuses one signed by another CA", async () => {
    const setup = setUp({ CRL_FORMATS: 'pem' });
    mkdirSync(setup.config.crlDir, { mode: 0o755 });
    writeFileSync(join(setup.config.crlDir, 'crl.pem'), crlSignedBy(authority), { mode: 0o644 });
    expect(await audit(setup)).toEqual([]);
    const other = makeFileCa({ keyType: 'ec-p256', subject: [{ type: 'O', value: 'Elsewhere' }, { type: 'CN', value: 'Other CA' }] });
    writeFileSync(join(setup.config.crlDir, 'crl.pem'), crlSignedBy(other), { mode: 0o644 });
    expect(problems(await audit(setup))).toEqual([`CRL ${join(setup.config.crlDir, 'crl.pem')}: its issuer is not the CA certificate's subject`]);
    // The same name, another key.
    const twin = makeFileCa({ keyType: 'ec-p256' });
    writeFileSync(join(setup.config.crlDir, 'crl.pem'), crlSignedBy(twin), { mode: 0o644 });
    expect(problems(await audit(setup))).toEqual([`CRL ${join(setup.config.crlDir, 'crl.pem')}: its signature does not verify with the CA certificate`]);
  });

  it('checks the spool directories exactly when they exist', async () => {
    const setup = setUp();
    expect(await audit(setup)).toEqual([]);
    const nogroup = lookupGroup('nogroup')!;
    const incoming = join(setup.config.spoolDir, 'incoming');
    mkdirSync(incoming, { recursive: true });
    chmodSync(setup.config.spoolDir, 0o755);
    chmodSync(incoming, 0o1777);
    expect(problems(await audit(setup))).toEqual([
      `spool: ${incoming}: owned by 0:0, expected 0:${nogroup}`,
    ]);
  });

  it('accepts a sticky world-writable parent (like /tmp) and refuses a plain one', async () => {
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o1777);
    const sticky = setUp({ CA_DIR: join(open, 'ca'), REVOKE_QUEUE_DIR: join(open, 'ca', 'queue') });
    expect(await audit(sticky)).toEqual([]);
    chmodSync(open, 0o777);
    expect(problems(await audit(sticky))).toEqual([`a parent of the CA directory: ${open}: world-writable (mode 0777)`]);
  });
});
