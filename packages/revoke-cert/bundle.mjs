// Bundles the compiled revoke-cert into one CommonJS file, dist/revoke-cert.js,
// which the bin runs (scripts/bundle-program.mjs): an operator's revocation
// waits for its start-up.
import { fileURLToPath } from 'node:url';
import { bundleProgram } from '../../scripts/bundle-program.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
await bundleProgram(here('dist/main.js'), here('dist/revoke-cert.js'));
