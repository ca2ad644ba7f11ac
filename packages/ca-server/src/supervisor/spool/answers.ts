/**
 * Answers go to SPOOL_DIR/answers, a directory only root writes, through the
 * contract's prepareFile: owned root:CLIENT_GROUP 0640 before a byte is
 * written, renamed into place so a client never reads half an answer.
 * Not flushed: the journal is the durable record, answers are derived.
 */
import { join } from 'node:path';
import { prepareFile, unlinkQuietly } from '@etoken-ca/contract/io/atomic-file';
import { ANSWER_FILE_MODE, answerFile, formatAnswer, type Answer, type SpoolLayout } from '@etoken-ca/contract/core/spool';

/** An answer under its temporary name: invisible to clients until published. */
export interface PreparedAnswer {
  /** Renames it into place; throws (and leaves nothing behind) if that fails. */
  publish(): void;
  discard(): void;
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
  return prepareFile(answerFile(layout, id), answerText, { mode: ANSWER_FILE_MODE, owner: { uid: 0, gid: clientGid }, flush: false, tempPath: join(layout.answers, `.${id}.tmp`) });
}

export function writeAnswer(layout: SpoolLayout, id: string, answer: Answer, clientGid: number): void {
  prepareAnswer(layout, id, answer, clientGid).publish();
}

export function removeAnswer(layout: SpoolLayout, id: string): void {
  unlinkQuietly(answerFile(layout, id));
}

export function writeAnswerText(layout: SpoolLayout, id: string, answerText: string, clientGid: number): void {
  prepareAnswerText(layout, id, answerText, clientGid).publish();
}
