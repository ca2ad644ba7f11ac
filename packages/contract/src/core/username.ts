/**
 * MyProxy's username: a DN, optionally followed by space-separated attributes
 * (`/DC=org/O=Example/CN=John Doe email=jdoe@example.org info:key=value`).
 * The suffix starts at the first space-preceded token shaped like `name=` or
 * `ns:name=`, and every token after it must be an attribute too, so a DN
 * value that contains ` email=` splits there and is refused: never guessed.
 */
import { badRequest } from './exit-codes.js';
import { hasControlCharacter, printable } from './dn.js';
import { checkEmailAddress } from './email.js';

export interface UsernameParts {
  /** The DN part, still to go through DN_FORMAT. */
  readonly dn: string;
  /** email= values, validated, duplicates dropped. */
  readonly emails: readonly string[];
}

/** Namespaces whose attributes MyProxy deployments pass along; accepted and ignored. */
const IGNORED_NAMESPACES: readonly string[] = ['info'];
const MAX_EMAILS = 8;
const MAX_ATTRIBUTES = 32;

const NAME = '[A-Za-z][A-Za-z0-9_-]*';
const ATTRIBUTE = new RegExp(`^(?:(${NAME}):)?(${NAME})=(.*)$`, 's');
const SUFFIX_START = new RegExp(` (?=(?:${NAME}:)?${NAME}=)`);

export function splitUsername(username: string): UsernameParts {
  const cut = username.search(SUFFIX_START);
  if (cut < 0) return { dn: username, emails: [] };
  const tokens = username.slice(cut + 1).split(' ');
  if (tokens.length > MAX_ATTRIBUTES) throw badRequest(`more than ${MAX_ATTRIBUTES} attributes in username`);
  const emails = new Set<string>();
  for (const token of tokens) {
    const email = attributeEmail(token);
    if (email !== null) emails.add(email);
  }
  if (emails.size > MAX_EMAILS) throw badRequest(`more than ${MAX_EMAILS} email addresses in username`);
  return { dn: username.slice(0, cut), emails: [...emails] };
}

/** Checks one suffix token; returns its address for email=, null for an ignored attribute. */
function attributeEmail(token: string): string | null {
  const m = ATTRIBUTE.exec(token);
  if (!m) throw badRequest(`username attribute "${printable(token)}" is not name=value (ambiguous split)`);
  const [, namespace, name, value] = m as unknown as [string, string | undefined, string, string];
  if (hasControlCharacter(value)) throw badRequest(`control character in username attribute ${name}`);
  if (namespace === undefined) {
    if (name !== 'email') throw badRequest(`username attribute "${printable(name)}" not allowed`);
    checkEmailAddress(value);
    return value;
  }
  if (!IGNORED_NAMESPACES.includes(namespace)) {
    throw badRequest(`username attribute namespace "${printable(namespace)}" not allowed`);
  }
  return null;
}
