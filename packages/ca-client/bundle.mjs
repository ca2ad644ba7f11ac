// Bundles the compiled client into one CommonJS file, dist/etoken-ca-client.js,
// which the bin runs (scripts/bundle-program.mjs), and makes its V8 code cache:
// the client starts once per logon.
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { bundleProgram } from '../../scripts/bundle-program.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const bundle = here('dist/etoken-ca-client.js');

await bundleProgram(here('dist/main.js'), bundle);

// The code cache the bin compiles the bundle with: the same wrapped source,
// every function compiled now (--no-lazy) instead of on first call at each
// start. The flag is back to its default before the cache is written, since
// V8 accepts a cache only from the same V8 with the same flags.
setFlagsFromString('--no-lazy');
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle });
setFlagsFromString('--lazy');
writeFileSync(here('dist/etoken-ca-client.cache'), script.createCachedData());
