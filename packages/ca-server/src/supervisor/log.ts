/**
 * Audit log: pino JSON lines on stdout (journald under systemd), written
 * synchronously so a crash loses no line. Security events carry an `event`
 * field; nothing secret is ever passed to it.
 */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino(
    { level, base: { program: 'etoken-ca-server' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}
