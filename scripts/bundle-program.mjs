// Bundles one program's compiled ES modules into a single CommonJS file: a
// program started once per call (the MyProxy callout, revoke-cert) would
// otherwise have Node resolve, read and link every ES module on its own, and
// Node starts a CommonJS program sooner than an ES module (README,
// Performance). The program's package is "type": "commonjs" for that.
import { build } from 'esbuild';

/** Bundles `entry` (a compiled dist/main.js) into `outfile`, every dependency inside it. */
export async function bundleProgram(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
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
}
