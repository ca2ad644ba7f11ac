/** The spool as node:fs sees it, from the client's side (user myproxy, group CLIENT_GROUP). */
import { closeSync, constants, fstatSync, openSync, readSync, symlinkSync, unlinkSync, watch } from 'node:fs';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import { answerFile, lockFile, parseAnswer, requestFile, type Answer, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import type { SpoolPort } from './ports.js';
import { spoolFailure } from './spool-errors.js';
import { writeFully } from './write-fully.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_NONBLOCK, O_NOCTTY } = constants;
const REQUEST_FILE_MODE = 0o640;
/** A certificate answer is a few KiB; MyProxy could not take much more on stdout anyway (one pipe, 64 KiB). */
const MAX_ANSWER_SIZE = 64 * 1024;

const errorCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

export function nodeSpool(layout: SpoolLayout): SpoolPort {
  return {
    createRequest(id, bytes) {
      const path = requestFile(layout, id);
      let fd: number;
      try {
        fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, REQUEST_FILE_MODE);
      } catch (e) {
        throw spoolFailure(errorCode(e), layout.incoming);
      }
      try {
        writeFully(fd, bytes);
      } catch (e) {
        removeQuietly(path);
        throw spoolFailure(errorCode(e), layout.incoming);
      } finally {
        closeSync(fd);
      }
      faultPoint('client.after-request-written');
    },

    publishLock(id, target) {
      try {
        symlinkSync(target, lockFile(layout, id));
      } catch (e) {
        throw spoolFailure(errorCode(e), layout.incoming);
      }
      faultPoint('client.after-lock-published');
    },

    watchAnswers(onChange, onBroken) {
      try {
        const watcher = watch(layout.answers, { persistent: true }, (_event, name) => onChange(name));
        watcher.on('error', () => {
          watcher.close();
          onBroken();
        });
        return watcher;
      } catch (e) {
        const code = errorCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') throw spoolFailure(code, layout.answers);
        return null;
      }
    },

    readAnswer(id) {
      const answer = readAnswerFile(answerFile(layout, id));
      faultPoint(answer ? 'client.after-answer-read' : 'client.while-waiting');
      return answer;
    },

    removeLock(id) {
      removeQuietly(lockFile(layout, id));
    },

    removeRequest(id) {
      removeQuietly(requestFile(layout, id));
    },
  };
}

/** Opened without following links or blocking on a FIFO, then checked on the descriptor: a regular file of root's, of sane size. */
function readAnswerFile(path: string): Answer | null {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== 0 || stat.size > MAX_ANSWER_SIZE) return null;
    const buffer = Buffer.alloc(stat.size);
    // One read: a short one leaves half a JSON line, which parseAnswer refuses, and the next check reads again.
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    return parseAnswer(buffer.subarray(0, length).toString('utf8'));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Our own files in a sticky directory: a failure here can only mean the file is already gone. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; the server also removes the files of clients that died.
  }
}
