/**
 * The sysconfig file (/etc/sysconfig/etoken-ca): `KEY=value` lines, `#`
 * comments, optional quotes, no shell expansion. Parsed once, strictly, and
 * frozen. Unknown key, bad value, missing required key: one error naming the
 * file, line and key, exit 78. It holds no secret: the client reads it too.
 */
import { isAbsolute } from 'node:path';
import { bool, fail, int, list, optionalPath, path, str, userName, type Parser } from './config-values.js';
import { compileDnFormat, type DnFormat } from './dn.js';
import { namespaceOfFormat, parseNamespace, type Namespace } from './namespace.js';
import { EtokenError, ExitCode } from './exit-codes.js';
import { SCEP_KEYS, scepConfigProblem, type ScepConfig } from './scep/scep-config.js';

export interface UsbId {
  readonly vendor: number;
  readonly product: number;
}

export interface KeyRef {
  /** Slot number: the fallback when no TOKEN_LABEL/TOKEN_SERIAL is configured. */
  readonly slot: number;
  /** CKA_ID of the CA key; null: the key that matches the CA certificate. */
  readonly keyId: Buffer | null;
}

export interface Config extends ScepConfig {
  readonly file: string;
  readonly dnFormat: DnFormat;
  /** SUBJECT_NAMESPACE, or the pattern of DN_FORMAT's fixed part when it is empty. */
  readonly namespace: Namespace;
  readonly caOids: readonly string[];
  readonly crlUrls: readonly string[];
  readonly usbDevice: UsbId | null;
  readonly key: KeyRef;
  readonly pkcs11Module: string;
  readonly pkcs11Env: Readonly<Record<string, string>>;
  readonly tokenLabel: string;
  readonly tokenSerial: string;
  readonly caCert: string;
  readonly caDir: string;
  readonly spoolDir: string;
  readonly caUser: string;
  readonly parserUser: string;
  readonly clientGroup: string;
  readonly pinTty: string;
  readonly allowPinFd: boolean;
  readonly allowNonVtPinTty: boolean;
  readonly maxLifetime: number;
  readonly backdate: number;
  readonly clientTimeout: number;
  readonly maxRequestSize: number;
  readonly rsaMinBits: number;
  readonly ecCurves: readonly string[];
  readonly minCsrHash: string;
  readonly maxActiveCerts: number;
  readonly revokeOnReplace: boolean;
  readonly signerTimeout: number;
  readonly pidFile: string;
  readonly logLevel: string;
  readonly tokenPollInterval: number;
  readonly revokeQueueDir: string;
  readonly crlDir: string;
  readonly crlFormats: readonly ('pem' | 'der')[];
  readonly crlDays: number;
  readonly crlReissueDays: number;
  readonly crlDropExpired: boolean;
  /** How many numbered CRL copies CRL_DIR keeps. */
  readonly crlKeep: number;
  readonly postCrlCommand: string;
  readonly hookUser: string;
  readonly hookTimeout: number;
  readonly notifyCommand: string;
  readonly notifyEmail: readonly string[];
  readonly notifyFrom: string;
  readonly smtpUrl: string;
  readonly smtpCredentialsFile: string;
  /** Alert when the CA certificate expires within this many days (0: never). */
  readonly caExpiryWarnDays: number;
  /** Alert when more certificates than this are issued within an hour (0: never). */
  readonly issuanceAlertPerHour: number;
  /** Alert when the spool's or the CA directory's filesystem is fuller than this, in percent of blocks or inodes. */
  readonly diskAlertPercent: number;
  /** Free space (MB) kept in CA_DIR's filesystem for revocations, CRLs and checkpoints: below it new requests are refused. */
  readonly caDiskReserveMb: number;
  /** A journal segment is closed and the next begun past this size (KB); a checkpoint follows every four segments. */
  readonly journalSegmentKb: number;
  /** A checkpoint runs at least this often (seconds) while anything is written. */
  readonly checkpointInterval: number;
}

const oids: Parser<string[]> = (raw) =>
  list(raw).map((o) => (/^[0-2](\.(0|[1-9]\d{0,8}))+$/.test(o) ? o : fail(`"${o}" is not an OID`)));

const crlUrls: Parser<string[]> = (raw) =>
  list(raw).map((entry) => {
    const url = entry.startsWith('URI:') ? entry.slice(4) : fail(`"${entry}" must be URI:<url>`);
    return /^[a-z][a-z0-9+.-]*:\/\/[\x21-\x7e]+$/i.test(url) ? url : fail(`"${url}" is not a URL`);
  });

const usbId: Parser<UsbId | null> = (raw) => {
  if (raw === '') return null;
  const m = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(raw);
  return m ? { vendor: parseInt(m[1]!, 16), product: parseInt(m[2]!, 16) } : fail('must be vendor:product in hex, as lsusb prints it');
};

const keyRef: Parser<KeyRef> = (raw) => {
  const m = /^(\d{1,9}):([0-9a-f]*)$/i.exec(raw);
  if (!m || m[2]!.length % 2 !== 0) fail('must be slot:key_id (key_id in hex, may be empty)');
  return { slot: Number(m![1]), keyId: m![2] ? Buffer.from(m![2]!, 'hex') : null };
};

const envList: Parser<Record<string, string>> = (raw) => {
  const env: Record<string, string> = {};
  for (const item of list(raw)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(item);
    if (!m) fail(`"${item}" must be NAME=value`);
    env[m![1]!] = m![2]!;
  }
  return env;
};

const curves: Parser<string[]> = (raw) =>
  list(raw).map((c) => (c === 'P-256' || c === 'P-384' ? c : fail(`curve "${c}" not supported (P-256, P-384)`)));

const hashName: Parser<string> = (raw) =>
  ['sha1', 'sha256', 'sha384', 'sha512'].includes(raw) ? raw : fail('must be sha1, sha256, sha384 or sha512');

const command: Parser<string> = (raw) => (raw === '' || isAbsolute(raw) ? raw : fail('must be an absolute path to a program'));

const emails: Parser<string[]> = (raw) =>
  list(raw).map((a) => (/^[^\s@,]+@[^\s@,]+$/.test(a) ? a : fail(`"${a}" is not an email address`)));

const smtpUrl: Parser<string> = (raw) =>
  /^smtps?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/.test(raw) ? raw : fail('must be smtp://host[:port] or smtps://host[:port], without credentials');

const crlFormats: Parser<('pem' | 'der')[]> = (raw) => {
  const formats = list(raw).map((f) => (f === 'pem' || f === 'der' ? f : fail(`"${f}" is not pem or der`)));
  return formats.length > 0 ? formats : fail('needs pem, der or both');
};

const logLevel: Parser<string> = (raw) =>
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(raw) ? raw : fail('must be a pino level (info, debug, ...)');

interface KeySpec<K extends keyof Config> {
  readonly field: K;
  readonly parse: Parser<Config[K]>;
  /** Raw default; undefined: required. */
  readonly fallback?: string;
}

function spec<K extends keyof Config>(field: K, parse: Parser<Config[K]>, fallback?: string): KeySpec<K> {
  return { field, parse, fallback };
}

/** Every key, its parser and its default. sysconfig/etoken-ca documents each one. */
const SCHEMA: Readonly<Record<string, KeySpec<keyof Config>>> = {
  DN_FORMAT: spec('dnFormat', (raw) => compileDnFormat(raw)),
  SUBJECT_NAMESPACE: spec('namespace', (raw) => (raw === '' ? [] : parseNamespace(raw)), ''),
  CA_OIDS: spec('caOids', oids, ''),
  CRL_URLS: spec('crlUrls', crlUrls, ''),
  USB_DEVICE: spec('usbDevice', usbId, ''),
  KEY: spec('key', keyRef, '0:'),
  PKCS11_MODULE: spec('pkcs11Module', path, '/usr/lib/libeTPkcs11.so'),
  PKCS11_ENV: spec('pkcs11Env', envList, ''),
  TOKEN_LABEL: spec('tokenLabel', str, ''),
  TOKEN_SERIAL: spec('tokenSerial', str, ''),
  CA_CERT: spec('caCert', path, '/etc/etoken-ca/ca.pem'),
  CA_DIR: spec('caDir', path, '/var/lib/etoken-ca'),
  SPOOL_DIR: spec('spoolDir', path, '/var/spool/etoken-ca'),
  CA_USER: spec('caUser', userName, 'causer'),
  PARSER_USER: spec('parserUser', userName, 'caparse'),
  CLIENT_GROUP: spec('clientGroup', userName, 'myproxy'),
  PIN_TTY: spec('pinTty', path, '/dev/tty8'),
  ALLOW_PIN_FD: spec('allowPinFd', bool, 'no'),
  ALLOW_NON_VT_PIN_TTY: spec('allowNonVtPinTty', bool, 'no'),
  MAX_LIFETIME: spec('maxLifetime', int(60, 400 * 86400), '1000000'),
  BACKDATE: spec('backdate', int(0, 3600), '300'),
  CLIENT_TIMEOUT: spec('clientTimeout', int(1, 110), '60'),
  MAX_REQUEST_SIZE: spec('maxRequestSize', int(1024, 1048576), '16384'),
  RSA_MIN_BITS: spec('rsaMinBits', int(2048, 16384), '2048'),
  EC_CURVES: spec('ecCurves', curves, 'P-256,P-384'),
  MIN_CSR_HASH: spec('minCsrHash', hashName, 'sha256'),
  MAX_ACTIVE_CERTS: spec('maxActiveCerts', int(0, 1000000), '0'),
  REVOKE_ON_REPLACE: spec('revokeOnReplace', bool, 'no'),
  SIGNER_TIMEOUT: spec('signerTimeout', int(1, 600), '10'),
  PID_FILE: spec('pidFile', path, '/run/etoken-ca.pid'),
  LOG_LEVEL: spec('logLevel', logLevel, 'info'),
  TOKEN_POLL_INTERVAL: spec('tokenPollInterval', int(1, 60), '2'),
  REVOKE_QUEUE_DIR: spec('revokeQueueDir', path, '/var/lib/etoken-ca/revoke-queue'),
  CRL_DIR: spec('crlDir', path, '/var/lib/etoken-ca/crl'),
  CRL_FORMATS: spec('crlFormats', crlFormats, 'pem'),
  CRL_DAYS: spec('crlDays', int(1, 366), '30'),
  CRL_REISSUE_DAYS: spec('crlReissueDays', int(0, 365), '7'),
  CRL_DROP_EXPIRED: spec('crlDropExpired', bool, 'no'),
  CRL_KEEP: spec('crlKeep', int(1, 100000), '10'),
  POST_CRL_COMMAND: spec('postCrlCommand', command, ''),
  HOOK_USER: spec('hookUser', userName, 'nobody'),
  HOOK_TIMEOUT: spec('hookTimeout', int(1, 3600), '60'),
  NOTIFY_COMMAND: spec('notifyCommand', command, ''),
  NOTIFY_EMAIL: spec('notifyEmail', emails, ''),
  NOTIFY_FROM: spec('notifyFrom', str, 'etoken-ca@localhost'),
  SMTP_URL: spec('smtpUrl', smtpUrl, 'smtp://localhost:25'),
  SMTP_CREDENTIALS_FILE: spec('smtpCredentialsFile', optionalPath, ''),
  CA_EXPIRY_WARN_DAYS: spec('caExpiryWarnDays', int(0, 3650), '30'),
  ISSUANCE_ALERT_PER_HOUR: spec('issuanceAlertPerHour', int(0, 1000000), '500'),
  DISK_ALERT_PERCENT: spec('diskAlertPercent', int(1, 100), '90'),
  CA_DISK_RESERVE_MB: spec('caDiskReserveMb', int(0, 1048576), '64'),
  JOURNAL_SEGMENT_KB: spec('journalSegmentKb', int(16, 262144), '16384'),
  CHECKPOINT_INTERVAL: spec('checkpointInterval', int(1, 86400), '300'),
  ...(SCEP_KEYS as Readonly<Record<string, KeySpec<keyof Config>>>),
};

export const CONFIG_KEYS: readonly string[] = Object.keys(SCHEMA);

/** Unquotes one value: '...' literally, "..." with \" and \\ only; bare values have no blanks or quotes. */
function unquote(raw: string): string {
  const single = /^'([^']*)'$/.exec(raw);
  if (single) return single[1]!;
  const double = /^"((?:[^"\\]|\\["\\])*)"$/.exec(raw);
  if (double) return double[1]!.replace(/\\(["\\])/g, '$1');
  if (/[\s'"`$\\]/.test(raw)) fail('unquoted value with blanks, quotes, $, ` or \\ (quote it)');
  return raw;
}

/**
 * Parses config text. `file` is only used in messages. `standIns` give values
 * to required keys the text leaves unset, for a reader that does not use
 * them (the installer needs the paths and accounts before the operator has
 * set DN_FORMAT).
 */
export function parseConfig(text: string, file: string, standIns: Readonly<Record<string, string>> = {}): Config {
  const raw = new Map<string, { value: string; line: number }>();
  text.split('\n').forEach((lineText, index) => {
    const line = index + 1;
    const trimmed = lineText.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (!m) throw configError(file, line, undefined, 'expected KEY=value');
    const key = m[1]!;
    if (!(key in SCHEMA)) throw configError(file, line, key, 'unknown key');
    if (raw.has(key)) throw configError(file, line, key, `set twice (first on line ${raw.get(key)!.line})`);
    try {
      raw.set(key, { value: unquote(m[2]!.trim()), line });
    } catch (e) {
      throw configError(file, line, key, (e as Error).message);
    }
  });
  const config: Record<string, unknown> = { file };
  // What the file says is checked first, each error with its line; then what it leaves out.
  const entries = Object.entries(SCHEMA).sort(([a], [b]) => Number(raw.has(b)) - Number(raw.has(a)));
  for (const [key, s] of entries) {
    const given = raw.get(key);
    const value = given?.value ?? s.fallback ?? standIns[key];
    if (value === undefined) throw configError(file, 0, key, 'missing: it has no default and must be set');
    try {
      config[s.field] = s.parse(value);
    } catch (e) {
      const why = (e as Error).message.replace(/^DN_FORMAT /, '');
      throw configError(file, given?.line ?? 0, key, why);
    }
  }
  if ((config.namespace as Namespace).length === 0) config.namespace = namespaceOfFormat(config.dnFormat as DnFormat);
  const spoolUnderCa = (config.spoolDir as string).startsWith(`${config.caDir as string}/`);
  if (spoolUnderCa) throw configError(file, raw.get('SPOOL_DIR')?.line ?? 0, 'SPOOL_DIR', 'must not be inside CA_DIR');
  if ((config.crlReissueDays as number) >= (config.crlDays as number)) {
    throw configError(file, raw.get('CRL_REISSUE_DAYS')?.line ?? 0, 'CRL_REISSUE_DAYS', 'must be smaller than CRL_DAYS');
  }
  const scepProblem = scepConfigProblem(config as unknown as Config);
  if (scepProblem) throw configError(file, raw.get(scepProblem[0])?.line ?? 0, scepProblem[0], scepProblem[1]);
  return deepFreeze(config) as unknown as Config;
}

function configError(file: string, line: number, key: string | undefined, why: string): EtokenError {
  const where = line > 0 ? `${file}:${line}` : file;
  return new EtokenError(ExitCode.config, `${where}: ${key ? `${key}: ` : ''}${why}`);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
