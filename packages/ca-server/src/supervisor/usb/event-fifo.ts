/**
 * `--usb-events-from PATH`: hotplug events read as lines ("attach",
 * "detach") from a FIFO, for tests and diagnostics on machines without the
 * device. Only a command-line flag turns it on, never the config or the
 * environment, and the FIFO is checked on its descriptor like a spool entry:
 * opened O_NOFOLLOW|O_NONBLOCK, it must be a FIFO owned by root that nobody
 * else can write to. Opened read-write, so a writer that goes away is no
 * end of file. Worst case, a forged event costs a presence check and
 * withholds the certificates being signed at that moment.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { HotplugListeners, type Hotplug } from './hotplug.js';

const MAX_LINE = 64;

export class EventFifoError extends Error {
  override readonly name = 'EventFifoError';
}

function openCheckedFifo(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (e) {
    throw new EventFifoError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const stat = fstatSync(fd);
  const problem = !stat.isFIFO()
    ? 'is not a FIFO'
    : stat.uid !== 0
      ? 'is not owned by root'
      : (stat.mode & 0o022) !== 0
        ? 'is writable by group or others'
        : '';
  if (problem) {
    closeSync(fd);
    throw new EventFifoError(`${path} ${problem}`);
  }
  return fd;
}

export function openEventFifo(path: string, onProblem: (message: string) => void): Hotplug {
  const fd = openCheckedFifo(path);
  const hotplug = new HotplugListeners();
  const socket = new Socket({ fd, readable: true, writable: false });
  socket.unref();
  hotplug.onClose(() => socket.destroy());
  let buffered = '';
  socket.setEncoding('latin1');
  socket.on('error', (e) => onProblem(`${path}: ${e.message}`));
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === 'attach' || line === 'detach') hotplug.emit(line);
      else if (line !== '') onProblem(`${path}: ignored a line that is neither attach nor detach`);
    }
    if (buffered.length > MAX_LINE) {
      buffered = '';
      onProblem(`${path}: ignored an over-long line`);
    }
  });
  return hotplug;
}
