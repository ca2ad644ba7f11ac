/**
 * Tells the operator about events (token removed or inserted, PIN
 * rejected, CRL about to expire, ...) through NOTIFY_COMMAND and/or email
 * to NOTIFY_EMAIL, both run unprivileged as HOOK_USER within HOOK_TIMEOUT.
 * A failure is logged and never fatal; notify() never rejects.
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { encodeMailJob, type MailJob } from '@etoken-ca/protocol/mail-messages';
import { describeOutcome, runNodeUnprivileged, runUnprivileged, type RunOutcome } from '../hooks/run-unprivileged.js';
import type { Account } from '../proc.js';
import type { AuditLog } from '../audit-log.js';
import { eventMessage, type EventDetails, type EventMessage } from './event-message.js';
import { CredentialsFileError, readCredentialsFile, type SmtpCredentials } from './smtp-credentials.js';

export interface Notifier {
  /** Resolves when every channel has finished (or failed and been logged). */
  notify(event: string, details?: EventDetails): Promise<void>;
}

export interface MailSettings {
  readonly to: readonly string[];
  readonly from: string;
  readonly smtpUrl: string;
  readonly credentials: SmtpCredentials | null;
}

export interface NotifierSetup {
  /** Absolute path of NOTIFY_COMMAND; '' for none. */
  readonly command: string;
  readonly mail: MailSettings | null;
  readonly account: Account;
  readonly timeoutMs: number;
  readonly log: AuditLog;
}

const MAIL_SENDER = fileURLToPath(new URL('../../mailer/main.js', import.meta.url));
const LOGGED_OUTPUT = 512;

type Channel = (message: EventMessage) => Promise<RunOutcome>;

export function createNotifier(setup: NotifierSetup): Notifier {
  const channels: Array<[string, Channel]> = [];
  const run = { account: setup.account, timeoutMs: setup.timeoutMs };
  if (setup.command) {
    channels.push(['command', (message) => runUnprivileged({ ...run, program: setup.command, env: message.env })]);
  }
  const mail = setup.mail;
  if (mail && mail.to.length > 0) {
    channels.push([
      'email',
      (message) => {
        const job: MailJob = { url: mail.smtpUrl, from: mail.from, to: mail.to, subject: message.subject, text: message.text, auth: mail.credentials };
        const input = Buffer.concat(encodeMailJob(job));
        return runNodeUnprivileged({ ...run, script: MAIL_SENDER, input }).finally(() => input.fill(0));
      },
    ]);
  }

  return {
    async notify(event, details = {}) {
      const message = eventMessage(event, details, hostname(), new Date());
      await Promise.all(
        channels.map(async ([channel, send]) => {
          const outcome = await send(message);
          const record = { event: outcome.ok ? ('notify.sent' as const) : ('notify.failed' as const), notifyEvent: message.event, channel };
          if (outcome.ok) setup.log.info(record, `${channel} notification sent for ${message.event}`);
          else setup.log.warn({ ...record, output: outcome.output.slice(0, LOGGED_OUTPUT) }, `${channel} notification for ${message.event} failed: ${describeOutcome(outcome)}`);
        }),
      );
    },
  };
}

/** The notifier the config describes; an unusable SMTP_CREDENTIALS_FILE is a configuration error (exit 78). */
export function notifierFromConfig(config: Config, account: Account, log: AuditLog): Notifier {
  let credentials: SmtpCredentials | null = null;
  if (config.smtpCredentialsFile) {
    try {
      credentials = readCredentialsFile(config.smtpCredentialsFile);
    } catch (e) {
      if (!(e instanceof CredentialsFileError)) throw e;
      throw new EtokenError(ExitCode.config, `${config.file}: SMTP_CREDENTIALS_FILE: ${e.message}`);
    }
  }
  return createNotifier({
    command: config.notifyCommand,
    mail: { to: config.notifyEmail, from: config.notifyFrom, smtpUrl: config.smtpUrl, credentials },
    account,
    timeoutMs: config.hookTimeout * 1000,
    log,
  });
}
