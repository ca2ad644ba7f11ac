/**
 * The mail sender process: started by the notifier through child-entry.js as
 * HOOK_USER, so the SMTP conversation never happens as root. One mail job on
 * stdin, one email out through nodemailer, exit 0; on failure one line on
 * stderr and exit 75.
 */
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { FrameDecoder } from '@etoken-ca/protocol/frames';
import { readMailJob, type MailJob } from '@etoken-ca/protocol/mail-messages';

const TIMEOUT_MS = 30_000;
const MAX_JOB = 128 * 1024;

async function send(job: MailJob): Promise<void> {
  const url = new URL(job.url);
  const secure = url.protocol === 'smtps:';
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 25,
    secure,
    ...(job.auth ? { auth: { user: job.auth.user, pass: job.auth.pass } } : {}),
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
  });
  try {
    await transport.sendMail({ from: job.from, to: [...job.to], subject: job.subject, text: job.text });
  } finally {
    transport.close();
  }
}

function readJob(): MailJob {
  const [frame, ...more] = new FrameDecoder({ maxLine: MAX_JOB, maxPayload: 0 }).push(readFileSync(0));
  if (!frame || more.length) throw new Error('expected one mail job on stdin');
  return readMailJob(frame);
}

try {
  await send(readJob());
  process.exit(0);
} catch (e) {
  process.stderr.write(`mail not sent: ${String((e as Error).message).replace(/[\r\n]+/g, ' ')}\n`);
  process.exit(75);
}
