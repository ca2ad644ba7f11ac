/**
 * Descriptors a process inherited without meaning to. Node opens everything
 * of its own close-on-exec and marks the low descriptors it inherited
 * (0 to 15, libuv's uv_disable_stdio_inheritance) close-on-exec too, so none
 * of those reaches a child. One without the flag came through exec from
 * whoever started the process and would reach every child: it is closed,
 * unless the caller keeps it (the supervisor's --pin-fd).
 */
import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

export function closeInheritedDescriptors(keep: (fd: number) => boolean): void {
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (keep(fd)) continue;
    let flags: number;
    try {
      flags = parseInt(/^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))?.[1] ?? '0', 8);
    } catch {
      continue; // the directory's own descriptor, closed since
    }
    if (!(flags & O_CLOEXEC)) closeSync(fd);
  }
}
