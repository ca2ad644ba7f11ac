/**
 * The SCEP front end's keys of the sysconfig file: where etoken-ca-scep
 * listens and how it is bounded, its spool and account, its RA key, the
 * certificate profile the signer enforces on its requests, and the
 * enrollment workflow (OpenXPKI's stages). Every key has a default, so a
 * MyProxy-only configuration needs none of them.
 */
import { parseReason, type RevocationReason } from '../cadb/index-line.js';
import { bool, fail, int, list, optionalPath, path, userName, type Parser } from '../config-values.js';
import { parseNamespace, type Namespace } from '../namespace.js';
import { parseDnsPattern, parseIpRange, type IpRange } from './scep-names.js';

export type ScepEku = 'serverAuth' | 'clientAuth';
export type ScepKeyUsage = 'digitalSignature' | 'keyEncipherment' | 'keyAgreement';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** What a request from the SCEP spool may get: checked by the supervisor, enforced again by the signer. */
export interface ScepProfile {
  /** Subject patterns (SUBJECT_NAMESPACE syntax); empty: the CA's namespace. */
  readonly subjects: Namespace;
  /** dNSName patterns a subjectAltName may match; none: no DNS names. */
  readonly dnsNames: readonly string[];
  /** Address ranges an iPAddress subjectAltName may fall in; none: no addresses. */
  readonly ipRanges: readonly IpRange[];
  readonly eku: readonly ScepEku[];
  readonly keyUsage: readonly ScepKeyUsage[];
  readonly lifetimeDays: number;
}

export interface ScepConfig {
  /** Whether etoken-ca-server serves the SCEP spool at all. */
  readonly scepEnable: boolean;
  readonly scepSpoolDir: string;
  readonly scepUser: string;
  readonly scepGroup: string;
  readonly scepListen: ListenAddress;
  readonly scepRaKey: string;
  readonly scepRaCert: string;
  readonly scepAlgorithms: 'strong' | 'legacy';
  readonly scepCaCerts: 'ra' | 'chain';
  readonly scepMaxConnections: number;
  readonly scepMaxInFlight: number;
  readonly scepReadTimeout: number;
  readonly scepAnswerWait: number;
  readonly scepSubjects: Namespace;
  readonly scepSanDns: readonly string[];
  readonly scepSanIp: readonly IpRange[];
  readonly scepEku: readonly ScepEku[];
  readonly scepKeyUsage: readonly ScepKeyUsage[];
  readonly scepLifetimeDays: number;
  readonly scepRenewalDays: number;
  readonly scepRenewExpired: boolean;
  readonly scepOnBehalf: Namespace;
  readonly scepUnauthenticated: 'reject' | 'wait';
  readonly scepMaxActiveCerts: number;
  readonly scepAutoRevokeExisting: boolean;
  readonly scepRevokeOnReplace: RevocationReason | null;
  readonly scepRevokeDelay: number;
  readonly scepEligibilityCommand: string;
  readonly scepEligibilityTimeout: number;
  readonly scepApprovalPoints: number;
  readonly scepWorkflowExpiry: number;
  readonly scepQueueDir: string;
}

const listen: Parser<ListenAddress> = (raw) => {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|localhost):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) fail('must be address:port, e.g. 127.0.0.1:8089 or [::1]:8089');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
};

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) =>
    (values as string[]).includes(raw) ? (raw as T) : fail(`must be ${values.join(' or ')}`);

const subset =
  <T extends string>(allowed: readonly T[], atLeastOne: boolean): Parser<T[]> =>
  (raw) => {
    const items = list(raw).map((v) => ((allowed as readonly string[]).includes(v) ? (v as T) : fail(`"${v}" is not one of ${allowed.join(', ')}`)));
    return atLeastOne && items.length === 0 ? fail(`needs at least one of ${allowed.join(', ')}`) : items;
  };

const patterns: Parser<Namespace> = (raw) => (raw === '' ? [] : parseNamespace(raw));
const reasonOrNo: Parser<RevocationReason | null> = (raw) => (raw === 'no' ? null : (parseReason(raw) ?? fail('must be no or a revocation reason (superseded, ...)')));

export interface ScepKeySpec {
  readonly field: keyof ScepConfig;
  readonly parse: Parser<unknown>;
  readonly fallback: string;
}

const key = (field: keyof ScepConfig, parse: Parser<unknown>, fallback: string): ScepKeySpec => ({ field, parse, fallback });

export const SCEP_KEYS: Readonly<Record<string, ScepKeySpec>> = {
  SCEP_ENABLE: key('scepEnable', bool, 'no'),
  SCEP_SPOOL_DIR: key('scepSpoolDir', path, '/var/spool/etoken-ca-scep'),
  SCEP_USER: key('scepUser', userName, 'scep'),
  SCEP_GROUP: key('scepGroup', userName, 'scep'),
  SCEP_LISTEN: key('scepListen', listen, '127.0.0.1:8089'),
  SCEP_RA_KEY: key('scepRaKey', path, '/etc/etoken-ca/scep/ra.key'),
  SCEP_RA_CERT: key('scepRaCert', path, '/etc/etoken-ca/scep/ra.pem'),
  SCEP_ALGORITHMS: key('scepAlgorithms', oneOf('strong', 'legacy'), 'strong'),
  SCEP_CA_CERTS: key('scepCaCerts', oneOf('ra', 'chain'), 'chain'),
  SCEP_MAX_CONNECTIONS: key('scepMaxConnections', int(1, 100000), '512'),
  SCEP_MAX_IN_FLIGHT: key('scepMaxInFlight', int(1, 10000), '64'),
  SCEP_READ_TIMEOUT: key('scepReadTimeout', int(1, 300), '10'),
  SCEP_ANSWER_WAIT: key('scepAnswerWait', int(1, 60), '10'),
  SCEP_SUBJECTS: key('scepSubjects', patterns, ''),
  SCEP_SAN_DNS: key('scepSanDns', (raw) => list(raw).map(parseDnsPattern), ''),
  SCEP_SAN_IP: key('scepSanIp', (raw) => list(raw).map(parseIpRange), ''),
  SCEP_EKU: key('scepEku', subset<ScepEku>(['serverAuth', 'clientAuth'], true), 'serverAuth'),
  SCEP_KEY_USAGE: key('scepKeyUsage', subset<ScepKeyUsage>(['digitalSignature', 'keyEncipherment', 'keyAgreement'], true), 'digitalSignature,keyEncipherment'),
  SCEP_LIFETIME_DAYS: key('scepLifetimeDays', int(1, 3650), '365'),
  SCEP_RENEWAL_DAYS: key('scepRenewalDays', int(0, 3650), '30'),
  SCEP_RENEW_EXPIRED: key('scepRenewExpired', bool, 'no'),
  SCEP_ON_BEHALF: key('scepOnBehalf', patterns, ''),
  SCEP_UNAUTHENTICATED: key('scepUnauthenticated', oneOf('reject', 'wait'), 'reject'),
  SCEP_MAX_ACTIVE_CERTS: key('scepMaxActiveCerts', int(1, 1000), '1'),
  SCEP_AUTO_REVOKE_EXISTING: key('scepAutoRevokeExisting', bool, 'no'),
  SCEP_REVOKE_ON_REPLACE: key('scepRevokeOnReplace', reasonOrNo, 'superseded'),
  SCEP_REVOKE_DELAY: key('scepRevokeDelay', int(0, 8760), '0'),
  SCEP_ELIGIBILITY_COMMAND: key('scepEligibilityCommand', optionalPath, ''),
  SCEP_ELIGIBILITY_TIMEOUT: key('scepEligibilityTimeout', int(1, 600), '30'),
  SCEP_APPROVAL_POINTS: key('scepApprovalPoints', int(0, 10), '0'),
  SCEP_WORKFLOW_EXPIRY: key('scepWorkflowExpiry', int(1, 8760), '168'),
  SCEP_QUEUE_DIR: key('scepQueueDir', path, '/var/lib/etoken-ca/scep-queue'),
};

/** The certificate profile of the SCEP spool; its subjects default to the CA's namespace. */
export function scepProfileOf(config: ScepConfig & { readonly namespace: Namespace }): ScepProfile {
  return {
    subjects: config.scepSubjects.length > 0 ? config.scepSubjects : config.namespace,
    dnsNames: config.scepSanDns,
    ipRanges: config.scepSanIp,
    eku: config.scepEku,
    keyUsage: config.scepKeyUsage,
    lifetimeDays: config.scepLifetimeDays,
  };
}

/** Cross-key rules of the SCEP keys: the key at fault and why, or null. */
export function scepConfigProblem(config: ScepConfig & { readonly spoolDir: string; readonly caDir: string; readonly clientGroup: string }): [string, string] | null {
  const inside = (dir: string, parent: string): boolean => dir === parent || dir.startsWith(`${parent}/`) || parent.startsWith(`${dir}/`);
  if (inside(config.scepSpoolDir, config.spoolDir)) return ['SCEP_SPOOL_DIR', 'must be apart from SPOOL_DIR: each front end has its own spool'];
  if (inside(config.scepSpoolDir, config.caDir)) return ['SCEP_SPOOL_DIR', 'must not be inside CA_DIR'];
  if (config.scepGroup === config.clientGroup) return ['SCEP_GROUP', 'must differ from CLIENT_GROUP: each front end has its own spool group'];
  if (config.scepRevokeDelay >= config.scepWorkflowExpiry) return ['SCEP_REVOKE_DELAY', 'must be shorter than SCEP_WORKFLOW_EXPIRY (the workflow remembers the revocation due)'];
  return null;
}
