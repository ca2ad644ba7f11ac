/**
 * The files etoken-ca needs at run time, found from the running copy: the
 * programs' packages (compiled code only), the shared packages and
 * every production dependency, resolved as Node resolves them. The same
 * list is what `install` copies and what the self-audit checks, so both
 * work on a build tree and on an installed copy alike. The example
 * sysconfig file and the unit come along, so an installed copy can install.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCEP_UNIT_EXAMPLE, SYSCONFIG_EXAMPLE, UNIT_EXAMPLE } from './manifest.js';

export interface RuntimeFile {
  /** Where it lives in the install layout, relative to the code directory. */
  readonly rel: string;
  /** Where it is now. */
  readonly source: string;
  readonly executable: boolean;
}

/** A package of this project: which of its files run, and whether its dependencies are needed. */
interface OwnPackage {
  readonly name: string;
  readonly keep: (relPath: string) => boolean;
  readonly followDependencies: boolean;
}

const compiledCode = (rel: string): boolean =>
  rel === 'package.json' || rel.startsWith(`bin${sep}`) || (rel.startsWith(`dist${sep}`) && rel.endsWith('.js') && !rel.endsWith('.test.js'));

/** A program that runs from one bundled file (its dependencies inside it): its manifest, its bin and these files. */
const bundled = (...files: string[]): ((rel: string) => boolean) => (rel) => rel === 'package.json' || rel.startsWith(`bin${sep}`) || files.includes(rel);

const OWN_PACKAGES: readonly OwnPackage[] = [
  { name: '@etoken-ca/ca-server', keep: compiledCode, followDependencies: true },
  { name: '@etoken-ca/scep-server', keep: compiledCode, followDependencies: true },
  // The client's bundle and its code cache; revoke-cert's bundle.
  { name: '@etoken-ca/ca-client', keep: bundled(join('dist', 'etoken-ca-client.js'), join('dist', 'etoken-ca-client.cache')), followDependencies: false },
  { name: '@etoken-ca/revoke-cert', keep: bundled(join('dist', 'revoke-cert.js')), followDependencies: false },
];

/** The shared packages the programs depend on, taken in when a program's dependencies lead to them. */
const SHARED: readonly OwnPackage[] = ['@etoken-ca/contract', '@etoken-ca/x509', '@etoken-ca/protocol'].map((name) => ({ name, keep: compiledCode, followDependencies: true }));

/** The directory of the running ca-server package (dist/supervisor/install/ is three levels below it). */
export function runningServerPackage(): string {
  return fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
}

/** The directory whose node_modules/@etoken-ca/ca-server is the running package: a checkout or an install. */
export function codeRootOf(serverPackage: string): string {
  const real = realpathSync(serverPackage);
  for (let dir = dirname(real); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      if (realpathSync(join(dir, 'node_modules/@etoken-ca/ca-server')) === real) return dir;
    } catch {
      // not here
    }
  }
  throw new Error(`no node_modules/@etoken-ca/ca-server above ${serverPackage} leads back to it`);
}

function dependenciesOf(packageDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  return Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
}

/** Node's lookup: node_modules/NAME in the package's directory and each one above it. */
function resolvePackage(fromDir: string, name: string): string | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    try {
      lstatSync(join(candidate, 'package.json'));
      return candidate;
    } catch {
      if (dir === dirname(dir)) return null;
    }
  }
}

function walkFiles(dir: string, onFile: (abs: string) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    if (entry.isDirectory()) walkFiles(abs, onFile);
    else if (entry.isFile()) onFile(abs);
  }
}

/** Every file to install, in a stable order; throws when a dependency cannot be found. */
export function runtimeFiles(codeRoot: string): RuntimeFile[] {
  const files = new Map<string, RuntimeFile>();
  const visited = new Set<string>();
  const add = (rel: string, source: string): void => {
    const mode = lstatSync(source).mode;
    files.set(rel, { rel, source, executable: (mode & 0o111) !== 0 });
  };
  const ownByName = new Map([...OWN_PACKAGES, ...SHARED].map((p) => [p.name, p]));

  const visit = (name: string, location: string): void => {
    const real = realpathSync(location);
    if (visited.has(real)) return;
    visited.add(real);
    const own = ownByName.get(name);
    const rel = own ? join('node_modules', name) : relative(codeRoot, location);
    if (rel.startsWith('..')) throw new Error(`dependency ${name} at ${location} lies outside ${codeRoot}`);
    walkFiles(real, (abs) => {
      const inside = relative(real, abs);
      // A third-party package is taken whole (native addons find their binaries by relative paths).
      if (!own || own.keep(inside)) add(join(rel, inside), abs);
    });
    if (own && !own.followDependencies) return;
    for (const dependency of dependenciesOf(real)) {
      const found = resolvePackage(real, dependency) ?? resolvePackage(location, dependency);
      if (!found) throw new Error(`${name} needs ${dependency}, which is not installed (run npm ci)`);
      visit(dependency, found);
    }
  };
  for (const own of OWN_PACKAGES) visit(own.name, join(codeRoot, 'node_modules', own.name));
  for (const rel of [SYSCONFIG_EXAMPLE, UNIT_EXAMPLE, SCEP_UNIT_EXAMPLE]) add(rel, join(codeRoot, rel));
  return [...files.values()].sort((a, b) => a.rel.localeCompare(b.rel));
}
