/**
 * install / uninstall: puts the manifest on the machine or takes it away,
 * saying for each item what was done. Idempotent: a second install finds
 * everything in place and says so. Uninstall takes away the code, the
 * wrappers, the unit and the drop-in, and never the configuration, the CA
 * database, the spool or the accounts.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseConfig, type Config } from '@etoken-ca/contract/core/config';
import { loadConfig } from '@etoken-ca/contract/io/load-config';
import { factsOf } from '../audit/path-facts.js';
import { othersCannotEnter, parentsOf } from '../audit/path-rules.js';
import { lookupGroup } from '../proc.js';
import { ensureSystemUser } from './accounts.js';
import { syncCode } from './code-sync.js';
import { dropInText, manifest, relocateSysconfig, relocateUnit, SCEP_UNIT_EXAMPLE, SYSCONFIG_EXAMPLE, UNIT_EXAMPLE, wrapperScript, type Manifest } from './manifest.js';
import { putRootDir, putRootFile, removeFile, removeTree, type Change } from './root-files.js';
import { ensureSpoolDirs, ensureStateDirs } from './state-dirs.js';
import { runtimeFiles } from './runtime-files.js';

export interface InstallOptions {
  readonly prefix: string;
  readonly dryRun: boolean;
  /** Where the code comes from: a checkout or an installed copy. */
  readonly codeRoot: string;
  readonly out: (line: string) => void;
}

class Report {
  private changed = 0;
  constructor(
    private readonly dryRun: boolean,
    private readonly out: (line: string) => void,
  ) {}

  item(change: Change | 'kept', what: string): void {
    if (change !== 'unchanged' && change !== 'absent' && change !== 'kept') this.changed++;
    const verb = this.dryRun && change !== 'unchanged' && change !== 'absent' && change !== 'kept' ? `would be ${change}` : change;
    this.out(`  ${verb.padEnd(18)} ${what}`);
  }

  get anythingChanged(): boolean {
    return this.changed > 0;
  }
}

/**
 * The configuration in force: the installed file when there is one, else the one about to be installed. Only its
 * paths and accounts are used here, so a DN_FORMAT the operator has yet to set does not stop the install.
 */
const INSTALL_STAND_INS = { DN_FORMAT: '%s' };
function effectiveConfig(m: Manifest, sysconfigText: string): Config {
  return existsSync(m.configFile) ? loadConfig(m.configFile, INSTALL_STAND_INS) : parseConfig(sysconfigText, m.configFile, INSTALL_STAND_INS);
}

/** Directories above a path that the MyProxy account cannot pass through. */
function closedParents(path: string): string[] {
  return parentsOf(path)
    .map(factsOf)
    .filter((f) => f !== null && othersCannotEnter(f) !== null)
    .map((f) => f!.path);
}

export function install(options: InstallOptions): void {
  const { dryRun, out } = options;
  const m = manifest(options.prefix);
  const report = new Report(dryRun, out);
  const sysconfigText = relocateSysconfig(readFileSync(join(options.codeRoot, SYSCONFIG_EXAMPLE), 'utf8'), m.prefix);
  const unitText = relocateUnit(readFileSync(join(options.codeRoot, UNIT_EXAMPLE), 'utf8'), m.prefix);
  const scepUnitText = relocateUnit(readFileSync(join(options.codeRoot, SCEP_UNIT_EXAMPLE), 'utf8'), m.prefix);
  const config = effectiveConfig(m, sysconfigText);
  const nodePath = realpathSync(process.execPath);
  out(`${dryRun ? 'Would install' : 'Installing'} etoken-ca${m.prefix ? ` under ${m.prefix}` : ''}:`);

  for (const user of [config.caUser, config.parserUser, config.scepUser]) report.item(ensureSystemUser(user, dryRun), `system user ${user}`);
  const code = syncCode(m.codeDir, runtimeFiles(options.codeRoot), dryRun);
  const codeChange: Change = code.directory === 'created' ? 'created' : code.written + code.removed === 0 ? 'unchanged' : 'updated';
  report.item(codeChange, `${m.codeDir} (${code.written} files written, ${code.removed} removed, ${code.unchanged} unchanged)`);
  for (const program of m.programs) report.item(putRootFile(program.path, wrapperScript(m, program, nodePath), 0o755, dryRun), program.path);
  report.item(existsSync(m.configFile) ? 'kept' : putRootFile(m.configFile, sysconfigText, 0o644, dryRun), m.configFile);
  report.item(putRootDir(m.caCertDir, 0o755, dryRun, true), m.caCertDir);
  for (const { path, change } of ensureStateDirs(config, dryRun)) report.item(change, path);
  const clientGid = lookupGroup(config.clientGroup);
  if (clientGid !== null) for (const { path, change } of ensureSpoolDirs(config.spoolDir, clientGid, dryRun)) report.item(change, path);
  const scepGid = lookupGroup(config.scepGroup);
  if (scepGid !== null) for (const { path, change } of ensureSpoolDirs(config.scepSpoolDir, scepGid, dryRun)) report.item(change, path);
  report.item(putRootDir(config.scepQueueDir, 0o700, dryRun, true), config.scepQueueDir);
  report.item(putRootDir(dirname(config.scepRaKey), 0o755, dryRun, true), dirname(config.scepRaKey));
  report.item(putRootFile(m.unitFile, unitText, 0o644, dryRun), m.unitFile);
  report.item(putRootFile(m.scepUnitFile, scepUnitText, 0o644, dryRun), m.scepUnitFile);
  report.item(putRootFile(m.dropInFile, dropInText(m), 0o644, dryRun), m.dropInFile);

  out(report.anythingChanged ? '' : '\nNothing changed: everything was already installed.\n');
  out('Left to the operator:');
  const todo: string[] = [];
  if (clientGid === null) {
    todo.push(`install myproxy-server (it creates the group ${config.clientGroup}), then run install again to create the spool ${config.spoolDir}`);
  }
  if (!existsSync(config.caCert)) todo.push(`put the CA certificate (PEM) at ${config.caCert} (CA_CERT), root-owned, mode 0644`);
  todo.push(`in ${m.configFile}: DN_FORMAT (required: the CA's namespace), PKCS11_MODULE, TOKEN_LABEL and TOKEN_SERIAL of the CA token, KEY, CA_OIDS, CRL_URLS, USB_DEVICE`);
  todo.push(`the token PIN is typed on ${config.pinTty} (PIN_TTY); the unit's TTYPath= and Conflicts=getty@... must name the same console`);
  todo.push(`check everything: ${m.programs[0]!.path} --check`);
  todo.push(
    `for SCEP: SCEP_ENABLE=yes and the SCEP_* keys in ${m.configFile}, \`${m.programs[0]!.path} scep issue-ra-cert --subject DN\` with the server running, then systemctl enable --now etoken-ca-scep`,
  );
  todo.push(`in myproxy-server.config: certificate_issuer_program ${m.programs[2]!.path}`);
  const closed = closedParents(m.programs[2]!.path).concat(closedParents(m.codeDir));
  if (closed.length > 0) todo.push(`the MyProxy account cannot reach the client: make ${[...new Set(closed)].join(', ')} o+x`);
  todo.push('systemctl daemon-reload && systemctl enable --now etoken-ca && systemctl restart myproxy-server');
  for (const line of todo) out(`  - ${line}`);
}

export function uninstall(options: InstallOptions): void {
  const { dryRun, out } = options;
  const m = manifest(options.prefix);
  const report = new Report(dryRun, out);
  out(`${dryRun ? 'Would uninstall' : 'Uninstalling'} etoken-ca${m.prefix ? ` under ${m.prefix}` : ''}:`);
  for (const program of m.programs) report.item(removeFile(program.path, dryRun), program.path);
  report.item(removeFile(m.unitFile, dryRun), m.unitFile);
  report.item(removeFile(m.scepUnitFile, dryRun), m.scepUnitFile);
  report.item(removeFile(m.dropInFile, dryRun), m.dropInFile);
  const dropInDir = dirname(m.dropInFile);
  if (!dryRun && existsSync(dropInDir) && readdirSync(dropInDir).length === 0) rmdirSync(dropInDir);
  report.item(removeTree(m.codeDir, dryRun), m.codeDir);
  const config = existsSync(m.configFile) ? loadConfig(m.configFile, INSTALL_STAND_INS) : null;
  report.item('kept', `${m.configFile} (configuration)`);
  if (config) {
    report.item('kept', `${config.caDir} (CA database), ${config.crlDir}, ${config.revokeQueueDir}`);
    report.item('kept', `${config.spoolDir} (spool), ${config.caCert} (CA certificate)`);
    report.item('kept', `system users ${config.caUser}, ${config.parserUser}`);
  }
  if (!report.anythingChanged) out('\nNothing to remove: etoken-ca was not installed here.');
  else if (!dryRun) out('\nThen: systemctl daemon-reload');
}
