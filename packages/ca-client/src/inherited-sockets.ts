/**
 * MyProxy leaks the user's TCP connection into its callout (not close-on-exec),
 * so the connection would stay open as long as the client runs. Close every
 * inherited socket at start. Only sockets: Node keeps descriptors of its own
 * (epoll, eventfd, signal pipes) above 2.
 */
import { closeSync, fstatSync, readdirSync } from 'node:fs';

export function closeInheritedSockets(): void {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return; // no /proc: nothing can be found, and nothing else depends on it here
  }
  for (const name of names) {
    const fd = Number(name);
    if (!(fd >= 3)) continue;
    try {
      if (fstatSync(fd).isSocket()) closeSync(fd);
    } catch {
      // The directory listing's own descriptor, closed by now.
    }
  }
}
