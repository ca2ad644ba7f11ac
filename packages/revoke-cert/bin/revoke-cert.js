#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --inspect-port=192.0.2.1:9229
// CommonJS, as the bundle it runs (see bundle.mjs): an operator waits for
// every start.
'use strict';
// First: without a listener SIGUSR1 opens Node's inspector (the flag above
// covers the moments before this line); SIGUSR2 and SIGHUP would end it
// between queueing an entry and reporting it.
for (const signal of ['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGPIPE']) process.on(signal, () => undefined);
require('../dist/revoke-cert.js');
