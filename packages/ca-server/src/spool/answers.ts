/**
 * Answers go to SPOOL_DIR/answers, a directory only root writes: a temp file
 * created O_EXCL|O_NOFOLLOW, owned root:CLIENT_GROUP 0640 (fchown/fchmod on
 * the descriptor), renamed into place so a client never reads half an answer.
 * Not flushed: the journal is the durable record, answers are derived.
 */
import { closeSync, constants, fchmodSync, fchownSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ANSWER_FILE_MODE, answerFile, formatAnswer, type Answer, type SpoolLayout } from '@etoken-ca/contract/spool';

export function writeAnswer(layout: SpoolLayout, id: string, answer: Answer, clientGid: number): void {
  const tmp = join(layout.answers, `.${id}.tmp`);
  try {
    unlinkSync(tmp);
  } catch {
    // usually absent: left only by a crash mid-write
  }
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      fchownSync(fd, 0, clientGid);
      fchmodSync(fd, ANSWER_FILE_MODE);
      const text = Buffer.from(formatAnswer(answer));
      // A short write (a full disk) must never be renamed into place as an answer.
      if (writeSync(fd, text) !== text.length) throw new Error('short write of an answer');
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, answerFile(layout, id));
  } catch (e) {
    // Nothing half-written may stay behind: the sweeper only knows finished answers.
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
    throw e;
  }
}

export function removeAnswer(layout: SpoolLayout, id: string): void {
  try {
    unlinkSync(answerFile(layout, id));
  } catch {
    // already gone
  }
}
