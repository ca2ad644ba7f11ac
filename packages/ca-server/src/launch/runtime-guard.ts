/**
 * How node is started for every process of the server, the supervisor's
 * shebang and installed wrapper included. A SIGUSR1 in the milliseconds
 * before the first module installs its listener still reaches Node's own
 * handler, which starts the inspector: on this address (TEST-NET-1, RFC 5737,
 * which no host has) that start fails instead of listening. Node 20 has no
 * --disable-sigusr1 (22.14 and later).
 */
export const RUNTIME_GUARD_FLAGS: readonly string[] = ['--inspect-port=192.0.2.1:9229'];
