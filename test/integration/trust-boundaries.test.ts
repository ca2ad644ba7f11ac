/**
 * The layout holds the trust boundaries by construction: in a copy of the
 * sources, each forbidden import makes the build fail, naming the file, the
 * import and the rule; the sources as they are pass.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/ca-server.js';

let copy: string;

function check(): { code: number | null; stderr: string } {
  const run = spawnSync(process.execPath, [join(copy, 'scripts/check-trust-boundaries.mjs'), '--root', copy], { encoding: 'utf8' });
  return { code: run.status, stderr: run.stderr };
}

/** Adds `line` to a source file of the copy for one check, then takes it out again. */
function withLine(file: string, line: string): { code: number | null; stderr: string } {
  const path = join(copy, file);
  const before = readFileSync(path, 'utf8');
  appendFileSync(path, `\n${line}\n`);
  try {
    return check();
  } finally {
    writeFileSync(path, before);
  }
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'etoken-layout-'));
  const skip = (src: string): boolean => !/\/(dist|node_modules)(\/|$)/.test(src) && !src.endsWith('.tsbuildinfo');
  for (const entry of ['packages', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.base.json', 'trust-boundaries.json']) {
    cpSync(join(REPO, entry), join(copy, entry), { recursive: true, filter: skip });
  }
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('the trust boundaries', () => {
  it('hold for the sources as they are', () => {
    expect(check()).toEqual({ code: 0, stderr: '' });
  });

  it.each([
    ['the client reaching signer code', 'packages/ca-client/src/main.ts', "import '../../ca-server/src/signer/token/token.js';", 'client (the MyProxy account (myproxy)) may not import signer'],
    ['the client loading the PKCS#11 binding', 'packages/ca-client/src/main.ts', "import 'graphene-pk11';", 'client (the MyProxy account (myproxy)) may not load graphene-pk11'],
    ['revoke-cert reaching signer code', 'packages/revoke-cert/src/main.ts', "import '../../ca-server/src/signer/main.js';", 'revoke-cert (root (the operator)) may not import signer'],
    ['revoke-cert loading pkcs11js', 'packages/revoke-cert/src/main.ts', "import 'pkcs11js';", 'revoke-cert (root (the operator)) may not load pkcs11js'],
    ['the signer reaching request parsing', 'packages/ca-server/src/signer/main.ts', "import '../parser/csr.js';", 'signer (CA_USER (causer)) may not import parser'],
    ['the supervisor reaching request parsing', 'packages/ca-server/src/supervisor/main.ts', "import '../parser/parse-request.js';", 'supervisor (root) may not import parser'],
    ['root loading the PKCS#11 binding', 'packages/ca-server/src/supervisor/token-manager.ts', "import 'graphene-pk11';", 'supervisor (root) may not load graphene-pk11'],
    ['root reaching the token adapter', 'packages/ca-server/src/supervisor/main.ts', "import '../signer/token/graphene-token.js';", 'supervisor (root) may not import signer'],
    ['pure code reaching an adapter', 'packages/contract/src/core/config.ts', "import '../io/load-config.js';", 'contract (pure: the file formats of the on-disk contract) may not import contract-io'],
    ['pure code doing I/O', 'packages/x509/src/template.ts', "import 'node:fs';", 'x509 (pure: certificate and CRL building and checking) is pure and may not do I/O'],
    ['pure code loading a package', 'packages/protocol/src/frames.ts', "import 'pino';", 'protocol (pure: the messages between the server\'s processes) may not load pino'],
    ['a module named by an expression', 'packages/ca-server/src/parser/main.ts', "const name = 'graphene-pk11'; await import(name);", 'a module named by an expression (line'],
    ['the parser sending mail', 'packages/ca-server/src/parser/main.ts', "import '@etoken-ca/protocol/mail-messages'; import 'nodemailer';", 'parser (PARSER_USER (caparse)) may not load nodemailer'],
    ['root loading the binding through createRequire', 'packages/ca-server/src/supervisor/token-manager.ts', "import { createRequire } from 'node:module'; createRequire(import.meta.url)('graphene-pk11');", 'imports node:module: it loads code by a name chosen at run time'],
    ['root running signer code in a worker thread', 'packages/ca-server/src/supervisor/main.ts', "import { Worker } from 'worker_threads'; new Worker(new URL('../signer/main.js', import.meta.url));", 'imports worker_threads: it loads code by a name chosen at run time'],
  ])('fail the check for %s', (_, file, line, rule) => {
    const result = withLine(file, line);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`trust boundaries: ${file} imports`);
    expect(result.stderr).toContain(rule);
  });

  it.each([
    ['root loading a native module by path', 'packages/ca-server/src/supervisor/token-manager.ts', "process.dlopen({ exports: {} }, '/usr/lib/softhsm/libsofthsm2.so');", 'names dlopen'],
    ['the same through a computed property', 'packages/ca-server/src/supervisor/token-manager.ts', "const load = process['dlopen'];", 'names dlopen'],
    ['pure code reaching node:fs past its imports', 'packages/x509/src/template.ts', "export const fs = process.getBuiltinModule('node:fs');", 'names getBuiltinModule'],
  ])('fail the check for %s', (_, file, line, named) => {
    const result = withLine(file, line);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`trust boundaries: ${file} ${named} (line`);
    expect(result.stderr).toContain('which loads code past every rule here: only loaders may');
  });

  it('fail the check when a project references what it may not import', () => {
    const tsconfig = join(copy, 'packages/ca-server/src/supervisor/tsconfig.json');
    const before = readFileSync(tsconfig, 'utf8');
    writeFileSync(tsconfig, before.replace('{ "path": "../launch" },', '{ "path": "../launch" }, { "path": "../signer" },'));
    try {
      expect(check().stderr).toMatch(/supervisor\/tsconfig\.json: references \[.*signer.*\], but supervisor may import/);
    } finally {
      writeFileSync(tsconfig, before);
    }
  });

  it('fail npm run build, through TypeScript itself for a relative import of another project', () => {
    const file = join(copy, 'packages/ca-server/src/parser/main.ts');
    appendFileSync(file, "\nimport '../signer/token/graphene-token.js';\n");
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: copy, encoding: 'utf8' });
    expect(build.status).not.toBe(0);
    expect(build.stdout + build.stderr).toMatch(/graphene-token\.ts' is not listed within the file list of project|TS6307/);
  }, 300_000);
});
