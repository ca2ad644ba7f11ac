/**
 * The CA's namespace: the subjects it may sign, as patterns in the style of
 * an IGTF signing_policy's cond_subjects (`"/DC=org/DC=example/*"`), matched
 * against the subject in index.txt's spelling (X509_NAME_oneline, as
 * relying parties' GSI code compares it). `*` matches any run of
 * characters, `?` one character. Without SUBJECT_NAMESPACE the namespace is
 * DN_FORMAT's fixed part, with a `*` where `%s` goes.
 */
import type { DnFormat, Rdn } from './dn.js';
import { onelineDn } from './dn.js';

export type Namespace = readonly string[];

/** The pattern DN_FORMAT's fixed part makes: what the username can change becomes `*`. */
export function namespaceOfFormat(format: DnFormat): Namespace {
  const before = onelineDn(format.before);
  const after = onelineDn(format.after);
  if (format.mode === 'rdns') return [`${before}/*${after}`];
  const slot = format.slot!;
  return [`${before}${onelineDn([{ type: slot.type, value: `${slot.prefix}\u0000${slot.suffix}` }]).replace('\\x00', '*')}${after}`];
}

/**
 * SUBJECT_NAMESPACE's value: double-quoted patterns separated by blanks,
 * exactly as in a cond_subjects line. Throws a one-line reason.
 */
export function parseNamespace(text: string): Namespace {
  const patterns: string[] = [];
  const rest = text.replace(/"([^"]*)"/g, (_, pattern: string) => {
    if (!pattern.startsWith('/') && pattern !== '*') throw new Error(`pattern "${pattern}" does not start with /`);
    if (/[\x00-\x1f\x7f]/.test(pattern)) throw new Error('control character in a pattern');
    patterns.push(pattern);
    return ' ';
  });
  if (rest.trim() !== '') throw new Error('must be double-quoted patterns separated by blanks, e.g. "/DC=org/DC=example/*"');
  if (patterns.length === 0) throw new Error('needs at least one pattern');
  return patterns;
}

function matches(pattern: string, subject: string): boolean {
  // Iterative glob with one backtrack point: linear in practice, no regular expression built from configuration.
  let p = 0;
  let s = 0;
  let star = -1;
  let resume = 0;
  while (s < subject.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === subject[s])) {
      p++;
      s++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = s;
    } else if (star >= 0) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

export function inNamespace(namespace: Namespace, subject: readonly Rdn[] | string): boolean {
  const oneline = typeof subject === 'string' ? subject : onelineDn(subject);
  return namespace.some((pattern) => matches(pattern, oneline));
}

/** The signing_policy file (Globus EACL) that tells relying parties which subjects this CA signs. */
export function signingPolicy(caSubject: string, namespace: Namespace): string {
  const quoted = namespace.map((p) => `"${p}"`).join(' ');
  return [
    `# Signing policy of the CA ${caSubject}, as etoken-ca-server --signing-policy prints it.`,
    `access_id_CA      X509         '${caSubject.replace(/'/g, "\\'")}'`,
    'pos_rights        globus       CA:sign',
    `cond_subjects     globus       '${quoted}'`,
    '',
  ].join('\n');
}
