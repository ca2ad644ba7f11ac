#!/usr/bin/env node
// Node opens its debugger on SIGUSR1 when no listener exists: install one
// before anything else runs; src/signals.ts takes over from it.
const early = { pending: false, listener: () => { early.pending = true; } };
process.on('SIGUSR1', early.listener);
globalThis[Symbol.for('etoken-ca.early-sigusr1')] = early;
await import('../dist/main.js');
