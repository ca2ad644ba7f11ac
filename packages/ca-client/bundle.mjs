// Bundles the compiled client into one CommonJS file, dist/etoken-ca-client.js,
// which the bin runs, and makes its V8 code cache. The client starts once per logon: Node resolves and
// reads every ES module on its own, and starts a CommonJS program sooner than
// an ES module (the package is "type": "commonjs" for that; README, Performance).
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const bundle = here('dist/etoken-ca-client.js');

await build({
  entryPoints: [here('dist/main.js')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // import.meta.url in the ES-module sources (package.json for --version, the contract's
  // fault-injection marker) becomes this file's URL; the banner comes first, so it repeats
  // esbuild's "use strict".
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "'use strict';\nconst importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

// The code cache the bin compiles the bundle with: the same wrapped source,
// every function compiled now (--no-lazy) instead of on first call at each
// start. The flag is back to its default before the cache is written, since
// V8 accepts a cache only from the same V8 with the same flags.
setFlagsFromString('--no-lazy');
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle });
setFlagsFromString('--lazy');
writeFileSync(here('dist/etoken-ca-client.cache'), script.createCachedData());
