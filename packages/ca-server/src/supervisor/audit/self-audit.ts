/**
 * The start-up self-audit, also `etoken-ca-server --check`: everything that
 * can be checked without the PIN and without writing anything. Returns every
 * problem found, not just the first, so the operator can fix them in one go.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '@etoken-ca/contract/core/config';
import { ANSWERS_MODE, INCOMING_MODE, spoolLayout } from '@etoken-ca/contract/core/spool';
import { CODE_DIR, manifest } from '../install/manifest.js';
import { runtimeFiles } from '../install/runtime-files.js';
import { lookupGroup, lookupUser, type Account } from '../proc.js';
import { latestCrlName } from '../revocation/crl-files.js';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { parseCaCertificate, type CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { crlDer, crlProblem } from './crl-check.js';
import { configProblem, type Finding } from './findings.js';
import { factsOf } from './path-facts.js';
import { exactProblem, othersCannotEnter, othersCannotRead, parentsOf, rootOnlyProblem } from './path-rules.js';
import type { ProbeAnswer } from '@etoken-ca/protocol/probe-messages';
import { scepAudit } from './scep-audit.js';
import { tokenFindings } from './token-probe.js';

export interface AuditSetup {
  readonly config: Config;
  /** The code to check: a checkout or an installed copy (see install/runtime-files). */
  readonly codeRoot: string;
  readonly now: number;
  readonly probeToken: (config: Config, account: Account) => Promise<ProbeAnswer>;
}

/** Collects problems, each path's parents checked once. */
class PathAudit {
  readonly problems: string[] = [];
  private readonly seenParents = new Set<string>();

  /** Root alone may change the path and every directory above it. Returns false when it does not exist. */
  rootOnly(path: string, what: string): boolean {
    const facts = factsOf(path);
    if (!facts) return false;
    this.note(rootOnlyProblem(facts, false), what);
    this.parents(path, what);
    if (facts.type !== 'symlink') return true;
    let target: string;
    try {
      target = realpathSync(path);
    } catch {
      this.note(`${path}: a symlink to nothing`, what);
      return true;
    }
    return this.rootOnly(target, what);
  }

  /** Also readable by the unprivileged accounts (the signer, the parser, MyProxy's client). */
  readableByOthers(path: string, what: string): void {
    const facts = factsOf(path);
    if (!facts) return;
    this.note(othersCannotRead(facts), what);
    for (const dir of parentsOf(path)) {
      const parent = factsOf(dir);
      if (parent) this.note(othersCannotEnter(parent), what);
    }
  }

  parents(path: string, what: string): void {
    for (const dir of parentsOf(path)) {
      if (this.seenParents.has(dir)) return;
      this.seenParents.add(dir);
      const facts = factsOf(dir);
      if (facts) this.note(rootOnlyProblem(facts, true), `a parent of the ${what}`);
    }
  }

  note(problem: string | null, what: string): void {
    if (problem && !this.problems.some((p) => p.endsWith(problem))) this.problems.push(`${what}: ${problem}`);
  }
}

/** What the code's problems mean for the operator, when the workers cannot even read it. */
const UNREADABLE_CODE = 'code (the workers run it as CA_USER and PARSER_USER: install it with etoken-ca-server install, or build where every account can read)';

function checkCode(paths: PathAudit, codeRoot: string): void {
  let files: string[];
  try {
    files = runtimeFiles(codeRoot).map((f) => f.source);
  } catch (e) {
    paths.note((e as Error).message, 'code');
    return;
  }
  for (const file of [realpathSync(process.execPath), ...files]) {
    paths.rootOnly(file, 'code');
    paths.readableByOthers(file, UNREADABLE_CODE);
  }
  checkInstalledFiles(paths, codeRoot);
}

/** An installed copy: the wrappers, the unit and the drop-in the installer wrote beside it are checked like the code. */
function checkInstalledFiles(paths: PathAudit, codeRoot: string): void {
  if (!codeRoot.endsWith(CODE_DIR)) return;
  const m = manifest(codeRoot.slice(0, -CODE_DIR.length));
  for (const program of m.programs) paths.rootOnly(program.path, `installed program ${program.name}`);
  paths.rootOnly(m.unitFile, 'systemd unit');
  paths.rootOnly(m.scepUnitFile, 'SCEP systemd unit');
  paths.rootOnly(m.dropInFile, 'myproxy-server drop-in');
}

/** SPOOL_DIR with CLIENT_GROUP, or SCEP_SPOOL_DIR with SCEP_GROUP: one scheme for both. */
function checkSpool(paths: PathAudit, spoolDir: string, clientGid: number, what = 'spool'): void {
  const layout = spoolLayout(spoolDir);
  paths.parents(layout.root, what);
  const expected: Array<[string, number, number]> = [
    [layout.root, 0, 0o755],
    [layout.incoming, clientGid, INCOMING_MODE],
    [layout.answers, clientGid, ANSWERS_MODE],
  ];
  for (const [dir, gid, mode] of expected) {
    const facts = factsOf(dir);
    if (facts) paths.note(exactProblem(facts, 0, gid, mode), what);
  }
}

function usableCaCertificate(config: Config, findings: Finding[], now: number): CaCertificate | null {
  let ca: CaCertificate;
  try {
    ca = parseCaCertificate(readCaCertificate(config.caCert).der);
  } catch (e) {
    findings.push(configProblem((e as Error).message));
    return null;
  }
  if (ca.notAfter <= now) findings.push(configProblem(`CA_CERT ${config.caCert}: expired on ${new Date(ca.notAfter).toISOString()}`));
  return ca;
}

function checkCrls(config: Config, ca: CaCertificate, findings: Finding[]): void {
  for (const format of config.crlFormats) {
    const file = join(config.crlDir, latestCrlName(format));
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      findings.push(configProblem(`CRL ${file}: cannot read it: ${(e as NodeJS.ErrnoException).code}`));
      continue;
    }
    const problem = crlProblem(format === 'pem' ? crlDer(bytes) : bytes, ca);
    if (problem) findings.push(configProblem(`CRL ${file}: ${problem}`));
  }
}

/** The service accounts the workers run as: present, unprivileged, distinct. */
function serviceAccount(config: Config, key: 'CA_USER' | 'PARSER_USER', findings: Finding[]): Account | null {
  const name = key === 'CA_USER' ? config.caUser : config.parserUser;
  const account = lookupUser(name);
  if (!account) findings.push(configProblem(`${key}: no such user "${name}"`));
  else if (account.uid === 0) findings.push(configProblem(`${key}: "${name}" is root; it must be an unprivileged account`));
  else return account;
  return null;
}

export async function selfAudit(setup: AuditSetup): Promise<Finding[]> {
  const { config } = setup;
  const findings: Finding[] = [];
  const paths = new PathAudit();

  const signer = serviceAccount(config, 'CA_USER', findings);
  const parser = serviceAccount(config, 'PARSER_USER', findings);
  if (signer && parser && signer.uid === parser.uid) findings.push(configProblem('CA_USER and PARSER_USER must be different accounts'));
  const clientGid = lookupGroup(config.clientGroup);
  if (clientGid === null) findings.push(configProblem(`CLIENT_GROUP: no such group "${config.clientGroup}"`));

  checkCode(paths, setup.codeRoot);
  paths.rootOnly(config.file, 'config');
  paths.readableByOthers(config.file, 'config');
  if (paths.rootOnly(config.caCert, 'CA certificate')) paths.readableByOthers(config.caCert, 'CA certificate');
  if (!paths.rootOnly(config.pkcs11Module, 'PKCS#11 module')) {
    findings.push({ kind: 'token', problem: `PKCS11_MODULE ${config.pkcs11Module}: no such file` });
  }
  for (const [dir, what] of [
    [config.caDir, 'CA directory'],
    [config.crlDir, 'CRL directory'],
    [config.revokeQueueDir, 'revocation queue'],
  ] as const) {
    if (!paths.rootOnly(dir, what)) paths.parents(dir, what);
  }
  if (clientGid !== null) checkSpool(paths, config.spoolDir, clientGid);
  const scep = scepAudit(config);
  if (scep.gid !== null) checkSpool(paths, config.scepSpoolDir, scep.gid, 'SCEP spool');
  if (config.scepEnable && !paths.rootOnly(config.scepQueueDir, 'SCEP order queue')) paths.parents(config.scepQueueDir, 'SCEP order queue');
  findings.push(...scep.problems.map(configProblem));
  findings.push(...paths.problems.map(configProblem));

  const ca = usableCaCertificate(config, findings, setup.now);
  if (ca) checkCrls(config, ca, findings);
  if (ca && signer && findings.every((f) => f.kind !== 'token')) {
    findings.push(...tokenFindings(await setup.probeToken(config, signer), config));
  }
  return findings;
}
