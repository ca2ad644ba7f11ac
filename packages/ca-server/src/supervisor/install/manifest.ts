/**
 * Everything `install` puts on a machine and `uninstall` takes away, in one
 * place so the two cannot drift. Pure: paths and file contents for a prefix.
 * With a prefix every path moves under it, including the defaults written
 * into a new sysconfig file, so a prefixed copy is complete on its own.
 */
import { join } from 'node:path';
import { RUNTIME_GUARD_FLAGS } from '../../launch/runtime-guard.js';

export const CONFIG_FILE = '/etc/sysconfig/etoken-ca';
export const CODE_DIR = '/usr/local/lib/etoken-ca';
export const CA_CERT_DIR = '/etc/etoken-ca';
const SYSTEMD_DIR = '/etc/systemd/system';

/** Sysconfig keys holding paths, with their documented defaults: moved under a prefix. */
export const RELOCATED_KEYS: Readonly<Record<string, string>> = {
  CA_CERT: '/etc/etoken-ca/ca.pem',
  CA_DIR: '/var/lib/etoken-ca',
  SPOOL_DIR: '/var/spool/etoken-ca',
  PID_FILE: '/run/etoken-ca.pid',
  REVOKE_QUEUE_DIR: '/var/lib/etoken-ca/revoke-queue',
  CRL_DIR: '/var/lib/etoken-ca/crl',
  SCEP_SPOOL_DIR: '/var/spool/etoken-ca-scep',
  SCEP_RA_KEY: '/etc/etoken-ca/scep/ra.key',
  SCEP_RA_CERT: '/etc/etoken-ca/scep/ra.pem',
  SCEP_QUEUE_DIR: '/var/lib/etoken-ca/scep-queue',
};

/** Where the operator files come from, inside the code (a checkout or an installed copy). */
export const SYSCONFIG_EXAMPLE = 'sysconfig/etoken-ca';
export const UNIT_EXAMPLE = 'systemd/etoken-ca.service';
export const SCEP_UNIT_EXAMPLE = 'systemd/etoken-ca-scep.service';

export interface Program {
  readonly name: string;
  /** Where the wrapper goes. */
  readonly path: string;
  /** The bin script inside the code directory. */
  readonly script: string;
  /** Options for node itself (the wrapper runs node, so the bin's shebang line is not read). */
  readonly nodeOptions: readonly string[];
}

export interface Manifest {
  readonly prefix: string;
  readonly codeDir: string;
  readonly configFile: string;
  readonly caCertDir: string;
  readonly programs: readonly Program[];
  readonly unitFile: string;
  readonly scepUnitFile: string;
  readonly dropInFile: string;
}

/** A prefix is '' or an absolute path of plain characters (it is written into shell wrappers and unit files). */
export function checkPrefix(prefix: string): string | null {
  if (prefix === '') return null;
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(prefix) || /\/\.\.?(\/|$)/.test(prefix)) {
    return 'must be an absolute path of letters, digits, ".", "_", "-" and "/"';
  }
  return null;
}

export function manifest(prefix: string): Manifest {
  const at = (path: string): string => `${prefix}${path}`;
  const codeDir = at(CODE_DIR);
  const script = (pkg: string, bin: string): string => join(codeDir, 'node_modules/@etoken-ca', pkg, 'bin', `${bin}.js`);
  return {
    prefix,
    codeDir,
    configFile: at(CONFIG_FILE),
    caCertDir: at(CA_CERT_DIR),
    programs: [
      {
        name: 'etoken-ca-server',
        path: at('/usr/local/sbin/etoken-ca-server'),
        script: script('ca-server', 'etoken-ca-server'),
        nodeOptions: RUNTIME_GUARD_FLAGS,
      },
      // Every program of the product gets the same runtime guard its bin's shebang line gives node.
      { name: 'revoke-cert', path: at('/usr/local/sbin/revoke-cert'), script: script('revoke-cert', 'revoke-cert'), nodeOptions: RUNTIME_GUARD_FLAGS },
      { name: 'etoken-ca-client', path: at('/usr/local/bin/etoken-ca-client'), script: script('ca-client', 'etoken-ca-client'), nodeOptions: RUNTIME_GUARD_FLAGS },
      { name: 'etoken-ca-scep', path: at('/usr/local/sbin/etoken-ca-scep'), script: script('scep-server', 'etoken-ca-scep'), nodeOptions: RUNTIME_GUARD_FLAGS },
    ],
    unitFile: at(join(SYSTEMD_DIR, 'etoken-ca.service')),
    scepUnitFile: at(join(SYSTEMD_DIR, 'etoken-ca-scep.service')),
    dropInFile: at(join(SYSTEMD_DIR, 'myproxy-server.service.d/etoken-ca.conf')),
  };
}

/**
 * A program's wrapper: a fixed node and script, the installed config unless ETOKEN_CA_CONFIG names another, no
 * NODE_EXTRA_CA_CERTS from the caller's environment, and the signals the product handles ignored until it does.
 */
export function wrapperScript(m: Manifest, program: Program, nodePath: string): string {
  return [
    '#!/bin/sh',
    `# ${program.name}, installed by etoken-ca-server install.`,
    // The kernel's default for these ends a process: a `systemctl kill -s USR1` while the shell and node's loader
    // started (a millisecond or two) ended the start. Ignored survives exec; Node blocks SIGUSR1 before it resets
    // what it inherited and gives it to its inspector (kept from listening by the runtime guard). Left open: the
    // shell's own first fraction of a millisecond, and SIGUSR2 and SIGHUP until the program's first statement.
    "trap '' USR1 USR2 HUP",
    `ETOKEN_CA_CONFIG="\${ETOKEN_CA_CONFIG:-${m.configFile}}"`,
    'export ETOKEN_CA_CONFIG',
    // Node reads every certificate this names at each start (90 ms for Debian's bundle on a 2-core machine), once per
    // logon for the client; no program here makes a connection that needs it (the mailer starts with an empty environment).
    'unset NODE_EXTRA_CA_CERTS',
    `exec ${[nodePath, ...program.nodeOptions, program.script].join(' ')} "$@"`,
    '',
  ].join('\n');
}

export function dropInText(m: Manifest): string {
  return `# The etoken-ca client (MyProxy's certificate_issuer_program) reads this configuration.\n[Service]\nEnvironment=ETOKEN_CA_CONFIG=${m.configFile}\n`;
}

/** The example sysconfig with its path defaults switched on and moved under the prefix (unchanged without one). */
export function relocateSysconfig(text: string, prefix: string): string {
  if (prefix === '') return text;
  return text.replace(/^#([A-Z_]+)=(\/\S*)$/gm, (line, key: string, value: string) =>
    RELOCATED_KEYS[key] === value ? `${key}=${prefix}${value}` : line,
  );
}

/** The unit with the wrapper and the writable state paths moved under the prefix (unchanged without one). */
export function relocateUnit(text: string, prefix: string): string {
  if (prefix === '') return text;
  const moved = ['/usr/local/sbin/etoken-ca-server', '/usr/local/sbin/etoken-ca-scep', ...Object.values(RELOCATED_KEYS), '/run'];
  let out = text;
  for (const path of moved) {
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(?<=[=\\s])${escaped}(?=\\s|$)`, 'gm'), `${prefix}${path}`);
  }
  return out;
}
