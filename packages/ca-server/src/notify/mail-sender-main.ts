/**
 * The mail sender process: run as HOOK_USER by the notifier, so the SMTP
 * conversation never happens as root. One JSON message on stdin (it carries
 * the relay's credentials, so it never goes through argv or the
 * environment), one email out through nodemailer, exit 0; on failure one
 * line on stderr and exit 75.
 */
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';

export interface MailJob {
  readonly url: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly auth: { readonly user: string; readonly pass: string } | null;
}

const TIMEOUT_MS = 30_000;

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

try {
  await send(JSON.parse(readFileSync(0, 'utf8')) as MailJob);
  process.exit(0);
} catch (e) {
  process.stderr.write(`mail not sent: ${String((e as Error).message).replace(/[\r\n]+/g, ' ')}\n`);
  process.exit(75);
}
