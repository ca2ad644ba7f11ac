/**
 * Answers go to SPOOL_DIR/answers, a directory only root writes: a temp file
 * created O_EXCL|O_NOFOLLOW, owned root:CLIENT_GROUP 0640 (fchown/fchmod on
 * the descriptor), renamed into place so a client never reads half an answer.
 * Not flushed: the journal is the durable record, answers are derived.
 */
import { closeSync, constants, fchmodSync, fchownSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ANSWER_FILE_MODE, answerFile, formatAnswer, type Answer, type SpoolLayout } from '@etoken-ca/contract/core/spool';

/** An answer under its temporary name: invisible to clients until published. */
export interface PreparedAnswer {
  /** Renames it into place; throws (and leaves nothing behind) if that fails. */
  publish(): void;
  discard(): void;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

/**
 * Writes the answer to its temporary name. The issuance path prepares its
 * answer while the journal flush runs and publishes it once the flush is done.
 */
export function prepareAnswer(layout: SpoolLayout, id: string, answer: Answer, clientGid: number): PreparedAnswer {
  return prepareAnswerText(layout, id, formatAnswer(answer), clientGid);
}

/** The same for an answer already formatted: each spool's answers have their own format (the SCEP spool's: scep-spool.ts). */
export function prepareAnswerText(layout: SpoolLayout, id: string, answerText: string, clientGid: number): PreparedAnswer {
  const tmp = join(layout.answers, `.${id}.tmp`);
  // Usually absent: left only by a crash mid-write.
  if (lstatSync(tmp, { throwIfNoEntry: false })) unlinkSync(tmp);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      fchownSync(fd, 0, clientGid);
      fchmodSync(fd, ANSWER_FILE_MODE);
      const text = Buffer.from(answerText);
      // A short write (a full disk) must never be renamed into place as an answer.
      if (writeSync(fd, text) !== text.length) throw new Error('short write of an answer');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    // Nothing half-written may stay behind: the sweeper only knows finished answers.
    removeQuietly(tmp);
    throw e;
  }
  return {
    publish(): void {
      try {
        renameSync(tmp, answerFile(layout, id));
      } catch (e) {
        removeQuietly(tmp);
        throw e;
      }
    },
    discard: () => removeQuietly(tmp),
  };
}

export function writeAnswer(layout: SpoolLayout, id: string, answer: Answer, clientGid: number): void {
  prepareAnswer(layout, id, answer, clientGid).publish();
}

export function removeAnswer(layout: SpoolLayout, id: string): void {
  removeQuietly(answerFile(layout, id));
}

export function writeAnswerText(layout: SpoolLayout, id: string, answerText: string, clientGid: number): void {
  prepareAnswerText(layout, id, answerText, clientGid).publish();
}
