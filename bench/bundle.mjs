// Bundles the benchmark (TypeScript, reusing test/helpers) into bench/dist/.
// npm packages stay external: the PKCS#11 binding is native, and the
// workspace packages are read from their own dist builds.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

await build({
  entryPoints: {
    bench: here('src/main.ts'),
    'bench-scep': here('src/scep-main.ts'),
    'bench-p6-10m': here('src/p6-10m-main.ts'),
    'load-generator': here('src/load/load-generator.ts'),
    soak: here('src/soak/soak-child.ts'),
  },
  outdir: here('dist'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
