/**
 * Closes connections that do not get a request in within the read timeout:
 * counted from the connection (or from the end of its last answer) to the
 * moment its next request reaches the handler, bytes or no bytes, so a
 * silent client and one that drips its headers are cut off alike. Node's
 * own timeouts (server.timeout, headersTimeout, requestTimeout) did not
 * always fire here, for a connection that never sent a byte or once a
 * request of another connection had ended early (a 413); so each
 * connection's clock is looked at once a second. The body has its own
 * deadline in the handler.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const SWEEP_MS = 1000;

export interface ConnectionClock {
  /** A request of this connection reached the handler: it is ours until `answered`. */
  requestStarted(socket: Socket): void;
  answered(socket: Socket): void;
}

export function sweepIdleConnections(server: Server, idleMs: number): ConnectionClock {
  /** Since when each connection waits for a request; absent while one is being answered. */
  const waitingSince = new Map<Socket, number>();
  const answering = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    waitingSince.set(socket, Date.now());
    socket.once('close', () => {
      waitingSince.delete(socket);
      answering.delete(socket);
    });
  });
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [socket, since] of waitingSince) if (!answering.has(socket) && now - since >= idleMs) socket.destroy();
  }, SWEEP_MS);
  timer.unref();
  server.once('close', () => clearInterval(timer));
  return {
    requestStarted: (socket) => void answering.add(socket),
    answered: (socket) => {
      answering.delete(socket);
      if (!socket.destroyed) waitingSince.set(socket, Date.now());
    },
  };
}
