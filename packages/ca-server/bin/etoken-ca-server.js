#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --inspect-port=192.0.2.1:9229
// The signal guard is the first module evaluated: from then on SIGUSR1 never
// reaches Node's inspector. The flag above covers the milliseconds before it
// (see src/launch/runtime-guard.ts); the installed wrapper passes the same.
import '../dist/launch/signal-guard.js';
await import('../dist/supervisor/main.js');
