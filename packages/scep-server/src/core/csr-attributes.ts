/**
 * The PKCS#9 attributes of a CSR that SCEP uses: the challengePassword
 * (RFC 8894 §2.2: the client's one-time secret; never log it) and the
 * extensionRequest, of which the CA profile may grant the subjectAltName.
 */
import type { Attribute } from '@peculiar/asn1-x509';
import { ChallengePassword, ExtensionRequest, id_pkcs9_at_challengePassword, id_pkcs9_at_extensionRequest } from '@peculiar/asn1-pkcs9';
import { id_ce_subjectAltName, SubjectAlternativeName, type GeneralName } from '@peculiar/asn1-x509';
import { parseExactly } from './der.js';
import { ScepError } from './fail-info.js';
import { MAX_CHALLENGE_PASSWORD_CHARS, MAX_SUBJECT_ALT_NAMES } from './limits.js';

export interface RequestedNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** GeneralName kinds other than dNSName and iPAddress that were asked for, for the profile to refuse. */
  readonly otherNameTypes: readonly string[];
}

export interface CsrAttributes {
  readonly challengePassword: string | undefined;
  /** OIDs of every extension the CSR asks for. */
  readonly requestedExtensions: readonly string[];
  readonly subjectAltNames: RequestedNames;
}

export function readCsrAttributes(attributes: readonly Attribute[]): CsrAttributes {
  const password = singleValue(attributes, id_pkcs9_at_challengePassword, 'challengePassword');
  const extensionsValue = singleValue(attributes, id_pkcs9_at_extensionRequest, 'extensionRequest');
  const extensions = extensionsValue ? parseExactly(extensionsValue, ExtensionRequest, 'the extensionRequest') : [];
  const altNames = extensions.filter((extension) => extension.extnID === id_ce_subjectAltName);
  if (altNames.length > 1) throw new ScepError('badRequest', 'the CSR asks for subjectAltName twice');
  const names = altNames[0] ? parseExactly(altNames[0].extnValue.buffer, SubjectAlternativeName, 'the requested subjectAltName') : [];
  return {
    challengePassword: password === undefined ? undefined : challengePassword(password),
    requestedExtensions: extensions.map((extension) => extension.extnID),
    subjectAltNames: requestedNames(names),
  };
}

function singleValue(attributes: readonly Attribute[], type: string, name: string): ArrayBuffer | undefined {
  const matching = attributes.filter((attribute) => attribute.type === type);
  if (matching.length === 0) return undefined;
  const [attribute] = matching;
  if (matching.length > 1 || attribute?.values.length !== 1) throw new ScepError('badRequest', `the CSR's ${name} must be one attribute with one value`);
  return attribute.values[0];
}

function challengePassword(value: ArrayBuffer): string {
  const text = parseExactly(value, ChallengePassword, 'the challengePassword').toString();
  if (text.length > MAX_CHALLENGE_PASSWORD_CHARS) throw new ScepError('badRequest', 'the challengePassword is too long');
  return text;
}

function requestedNames(names: readonly GeneralName[]): RequestedNames {
  if (names.length > MAX_SUBJECT_ALT_NAMES) throw new ScepError('badRequest', 'the CSR asks for too many subjectAltNames');
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const otherNameTypes = new Set<string>();
  for (const name of names) {
    if (name.dNSName !== undefined) dnsNames.push(name.dNSName);
    else if (name.iPAddress !== undefined) ipAddresses.push(name.iPAddress);
    else otherNameTypes.add(Object.keys(name).find((key) => name[key as keyof GeneralName] !== undefined) ?? 'unknown');
  }
  return { dnsNames, ipAddresses, otherNameTypes: [...otherNameTypes] };
}
