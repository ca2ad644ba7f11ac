#!/usr/bin/env -S node --inspect-port=192.0.2.1:9229
// Node opens its debugger on SIGUSR1 when no listener exists: install one
// before anything else runs; src/signals.ts takes over from it. Node 20 has
// no --disable-sigusr1, and a signal in the tens of milliseconds before this
// line runs still starts the inspector: the port above is on a reserved
// documentation address (RFC 5737) no host has, so that start fails instead
// of listening.
const early = { pending: false, listener: () => { early.pending = true; } };
process.on('SIGUSR1', early.listener);
globalThis[Symbol.for('etoken-ca.early-sigusr1')] = early;
await import('../dist/main.js');
