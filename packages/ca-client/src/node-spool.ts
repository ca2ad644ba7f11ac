/** The spool as node:fs sees it, from the client's side (user myproxy, group CLIENT_GROUP). */
import { watch } from 'node:fs';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import { createRequestFile, publishLock, readAnswerBytes, removeQuietly } from '@etoken-ca/contract/io/spool-files';
import { lockFile, parseAnswer, requestFile, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import type { SpoolPort } from './ports.js';
import { spoolFailure } from './spool-errors.js';
import { writeFully } from './write-fully.js';

/** A certificate answer is a few KiB; MyProxy could not take much more on stdout anyway (one pipe, 64 KiB). */
const MAX_ANSWER_SIZE = 64 * 1024;

const errorCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** `startedAt`: when this client's CLIENT_TIMEOUT started to run, given to the server as the request file's mtime. */
export function nodeSpool(layout: SpoolLayout, startedAt?: number): SpoolPort {
  return {
    createRequest(id, bytes) {
      try {
        createRequestFile(layout, id, bytes, writeFully, startedAt);
      } catch (e) {
        throw spoolFailure(errorCode(e), layout.incoming);
      }
      faultPoint('client.after-request-written');
    },

    publishLock(id, target) {
      try {
        publishLock(layout, id, target);
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
      // Before every look, found or not: a server that answers before the client's first look must not let it
      // slip past this point.
      faultPoint('client.while-waiting');
      const bytes = readAnswerBytes(layout, id, MAX_ANSWER_SIZE);
      const answer = bytes ? parseAnswer(bytes.toString('utf8')) : null;
      if (answer) faultPoint('client.after-answer-read');
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
