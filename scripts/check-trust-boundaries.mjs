#!/usr/bin/env node
// Holds the code to trust-boundaries.json: each project imports only its own
// files, the projects it may (and its tsconfig references exactly those), the
// npm packages it may, and builtins (pure projects: only the pure ones; only
// loaders the ones that load code by a name chosen at run time).
// TypeScript checks references for relative imports but not for imports by
// package name, and knows nothing of npm packages or builtins: this does.
// Run by `npm run build`; exits 1 with one line per violation.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' } } });
const root = resolve(values.root ?? join(dirname(new URL(import.meta.url).pathname), '..'));
const ts = createRequire(join(root, 'package.json'))('typescript');
const manifest = JSON.parse(readFileSync(join(root, 'trust-boundaries.json'), 'utf8'));
const projects = Object.entries(manifest.projects).map(([name, p]) => ({ name, ...p, dir: join(root, p.dir), tsconfig: join(root, p.tsconfig ?? join(p.dir, 'tsconfig.json')) }));
const byName = new Map(projects.map((p) => [p.name, p]));
const problems = [];
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const show = (path) => relative(root, path);
const isSource = (file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.test.ts');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' || entry.name === 'node_modules' ? [] : sources(path);
    return isSource(path) ? [path] : [];
  });
}

/** The project whose directory holds `path`: the deepest one, since projects nest (contract/src/core in contract/src). */
function projectOf(path) {
  return projects.filter((p) => path === p.dir || path.startsWith(p.dir + sep)).sort((a, b) => b.dir.length - a.dir.length)[0];
}

const loaderModules = new Set(manifest.loaderBuiltins.modules);
/** process.dlopen and process.getBuiltinModule: the name alone marks them, however they are reached (a property, a string, a destructuring). */
const loaderNames = new Set(manifest.loaderBuiltins.names);
const isLoader = (file) => (manifest.loaders ?? []).includes(show(file));

/** Every module a file names: import and export declarations, import() and require() with a literal, from a real parse. */
function importsOf(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = [];
  const line = (node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const visit = (node) => {
    if ((ts.isIdentifier(node) || ts.isStringLiteralLike(node)) && loaderNames.has(node.text) && !isLoader(file)) {
      problems.push(`${show(file)} names ${node.text} (line ${line(node)}), which loads code past every rule here: only loaders may`);
    }
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      const [first] = node.arguments;
      if (first && ts.isStringLiteralLike(first)) found.push(first.text);
      else if (!isLoader(file)) {
        problems.push(`${show(file)} imports a module named by an expression (line ${line(node)}), which cannot be checked`);
      }
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function checkReferences(project) {
  if (!existsSync(project.tsconfig)) return problems.push(`${project.name}: no ${show(project.tsconfig)}`);
  const { config, error } = ts.readConfigFile(project.tsconfig, ts.sys.readFile);
  if (error) return problems.push(`${show(project.tsconfig)}: ${ts.flattenDiagnosticMessageText(error.messageText, ' ')}`);
  const referenced = (config.references ?? []).map((r) => {
    const target = resolve(dirname(project.tsconfig), r.path);
    const file = target.endsWith('.json') ? target : join(target, 'tsconfig.json');
    return projects.find((p) => p.tsconfig === file)?.name ?? show(file);
  });
  const wanted = [...project.may].sort();
  if (JSON.stringify([...referenced].sort()) !== JSON.stringify(wanted)) {
    problems.push(`${show(project.tsconfig)}: references [${referenced.join(', ')}], but ${project.name} may import [${wanted.join(', ')}]`);
  }
}

function checkImport(project, file, specifier) {
  const where = `${show(file)} imports ${specifier}`;
  const who = `${project.name} (${project.runs})`;
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
    const owner = projectOf(target);
    if (!owner) return problems.push(`${where}: outside every project`);
    if (owner !== project && !project.may.includes(owner.name)) problems.push(`${where}: ${who} may not import ${owner.name}`);
    return;
  }
  if (builtins.has(specifier)) {
    const named = specifier.startsWith('node:') ? specifier : `node:${specifier}`;
    if (project.pure && !manifest.pureBuiltins.includes(named)) problems.push(`${where}: ${who} is pure and may not do I/O`);
    else if (loaderModules.has(named) && !isLoader(file)) problems.push(`${where}: it loads code by a name chosen at run time, past every rule here: only loaders may`);
    return;
  }
  const prefix = Object.keys(manifest.packageProjects).find((p) => specifier.startsWith(p));
  if (prefix) {
    const owner = manifest.packageProjects[prefix];
    if (owner !== project.name && !project.may.includes(owner)) problems.push(`${where}: ${who} may not import ${owner}`);
    return;
  }
  if (specifier.startsWith('@etoken-ca/')) return problems.push(`${where}: no project of this repository is importable by that name`);
  if (!(project.packages ?? []).includes(packageName(specifier))) {
    problems.push(`${where}: ${who} may not load ${packageName(specifier)} (allowed: ${(project.packages ?? []).join(', ') || 'none'})`);
  }
}

for (const project of projects) {
  for (const name of project.may) if (!byName.has(name)) problems.push(`${project.name}: may import unknown project ${name}`);
  if (!existsSync(project.dir)) {
    problems.push(`${project.name}: no directory ${show(project.dir)}`);
    continue;
  }
  checkReferences(project);
  for (const file of sources(project.dir)) {
    if (projectOf(file) !== project) continue;
    for (const specifier of importsOf(file)) checkImport(project, file, specifier);
  }
}

for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  if (!existsSync(src)) continue;
  for (const file of sources(src)) if (!projectOf(file)) problems.push(`${show(file)}: in no project of trust-boundaries.json`);
}

if (problems.length > 0) {
  for (const problem of problems) process.stderr.write(`trust boundaries: ${problem}\n`);
  process.exit(1);
}
