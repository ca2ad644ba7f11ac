#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --inspect-port=192.0.2.1:9229
// CommonJS, as the bundle it runs (see bundle.mjs). MyProxy starts the client
// once per logon, so its start-up counts: the bundle is compiled with the V8
// code cache the build made beside it (every function's bytecode: README,
// Performance), and without it if the cache is missing or was made by
// another Node (V8 rejects it, and compiles as usual).
'use strict';
// First: without a listener SIGUSR1 opens Node's inspector (the flag above
// covers the moments before this line), and SIGUSR2 would end the client
// without its clean-up. SIGTERM, SIGINT and SIGHUP stop it cleanly (main.ts).
for (const signal of ['SIGUSR1', 'SIGUSR2', 'SIGPIPE']) process.on(signal, () => undefined);
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const file = join(__dirname, '..', 'dist', 'etoken-ca-client.js');
let cachedData;
try {
  cachedData = readFileSync(join(__dirname, '..', 'dist', 'etoken-ca-client.cache'));
} catch {
  cachedData = undefined;
}
const bundle = new Module(file, module);
bundle.filename = file;
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
script.runInThisContext().call(bundle.exports, bundle.exports, (id) => bundle.require(id), bundle, file, dirname(file));
