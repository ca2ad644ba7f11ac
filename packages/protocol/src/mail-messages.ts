/**
 * The notifier and the mail sender: one job on the sender's stdin. It
 * carries the relay's credentials, so it never goes through argv or the
 * environment.
 */
import { MessageFields } from './fields.js';
import { encodeFrame, type Frame } from './frames.js';
import { ProtocolViolation } from './violation.js';

export interface MailJob {
  readonly url: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly auth: { readonly user: string; readonly pass: string } | null;
}

const MAX_RECIPIENTS = 32;
const MAX_TEXT = 64 * 1024;

export function encodeMailJob(job: MailJob): Buffer[] {
  return encodeFrame({ type: 'mail', ...job });
}

export function readMailJob(frame: Frame): MailJob {
  if (frame.message.type !== 'mail') throw new ProtocolViolation('not a mail job');
  const f = new MessageFields(frame.message, 'mail job', ['url', 'from', 'to', 'subject', 'text', 'auth']);
  f.none(frame.payload);
  const auth = frame.message.auth;
  let credentials: MailJob['auth'] = null;
  if (auth !== null) {
    const a = new MessageFields(typeof auth === 'object' && auth !== null ? (auth as Record<string, unknown>) : {}, 'mail credentials', ['user', 'pass']);
    credentials = { user: a.string('user', 256), pass: a.string('pass', 1024) };
  }
  return {
    url: f.string('url', 300),
    from: f.string('from', 300),
    to: f.list('to', MAX_RECIPIENTS, (v) => (typeof v === 'string' && v.length <= 300 ? v : undefined)),
    subject: f.string('subject', 1000),
    text: f.string('text', MAX_TEXT),
    auth: credentials,
  };
}
