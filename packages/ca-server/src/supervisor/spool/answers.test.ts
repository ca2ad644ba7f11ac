import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { answerFile, parseAnswer, spoolLayout } from '@etoken-ca/contract/core/spool';
import { prepareAnswer, writeAnswer } from './answers.js';

const dir = mkdtempSync(join(tmpdir(), 'etoken-answers-'));
const layout = spoolLayout(dir);
mkdirSync(layout.answers);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const GID = 4242;
const id = (n: number): string => n.toString(16).padStart(32, '0');

describe('answers', () => {
  it('shows a prepared answer to nobody until it is published, then as root:client group 0640', () => {
    const prepared = prepareAnswer(layout, id(1), { status: 'refused', exit: 65, reason: 'no' }, GID);
    expect(readdirSync(layout.answers).filter((name) => !name.startsWith('.'))).toEqual([]);
    prepared.publish();
    const stat = statSync(answerFile(layout, id(1)));
    expect([stat.uid, stat.gid, stat.mode & 0o777]).toEqual([0, GID, 0o640]);
    expect(parseAnswer(readFileSync(answerFile(layout, id(1)), 'utf8'))).toMatchObject({ status: 'refused', exit: 65, reason: 'no' });
    expect(readdirSync(layout.answers)).toEqual([`${id(1)}.answer`]);
  });

  it('leaves nothing behind when discarded, and replaces what a crash left under the temporary name', () => {
    prepareAnswer(layout, id(2), { status: 'refused', exit: 75, reason: 'later' }, GID).discard();
    expect(readdirSync(layout.answers)).toEqual([`${id(1)}.answer`]);
    writeFileSync(join(layout.answers, `.${id(3)}.tmp`), 'half an answer');
    writeAnswer(layout, id(3), { status: 'refused', exit: 65, reason: 'whole' }, GID);
    expect(readdirSync(layout.answers).sort()).toEqual([`${id(1)}.answer`, `${id(3)}.answer`]);
    expect(parseAnswer(readFileSync(answerFile(layout, id(3)), 'utf8'))).toMatchObject({ reason: 'whole' });
  });
});
