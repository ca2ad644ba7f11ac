#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --inspect-port=192.0.2.1:9229
// First: without a listener SIGUSR1 opens Node's inspector (the flag above
// covers the moments before this line, and the installed wrapper passes the
// same); SIGUSR2 and SIGHUP would end the server; SIGPIPE is a write to a
// closed socket, which the writer sees as EPIPE anyway.
for (const signal of ['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGPIPE']) process.on(signal, () => undefined);
await import('../dist/server/main.js');
