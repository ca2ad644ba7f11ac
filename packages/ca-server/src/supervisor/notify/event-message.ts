/**
 * What an operator is told about an event: a subject and text for email,
 * and the environment of NOTIFY_COMMAND (ETOKEN_CA_EVENT, ETOKEN_CA_MESSAGE,
 * ETOKEN_CA_HOST, ETOKEN_CA_TIME and one ETOKEN_CA_<FIELD> per plain
 * detail). Details are facts such as a token serial or a reason, never a
 * secret; they are cut short and stripped of control characters here.
 */
export type EventDetails = Readonly<Record<string, unknown>>;

export interface EventMessage {
  readonly event: string;
  readonly subject: string;
  readonly text: string;
  readonly env: Readonly<Record<string, string>>;
}

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  'token.removed': 'The CA token was removed or stopped working: signing has stopped. Certificate requests wait until it is back and its PIN is typed on the console.',
  'token.inserted': 'The CA token is back. Its PIN must be typed on the console before signing resumes.',
  'token.refused': 'A token was found that cannot be used as the CA token (not the CA key, or unusable). It was refused and never got the PIN.',
  'token.absent': 'No usable CA token is present.',
  'pin.rejected': 'The CA token rejected the PIN typed on the console.',
  'pin.locked': 'The PIN of the CA token is locked: the token must be unlocked with its SO PIN.',
  'token.unlocked': 'The PIN of the CA token is no longer locked. Its PIN must be typed on the console before signing resumes.',
  'token.failing': 'The CA token failed several operations in a row: signing has stopped. Pull it out and put it back (or restart etoken-ca), then type its PIN.',
};

const MAX_VALUE = 256;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]{0,31}$/;

function clean(value: string): string {
  return value.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ').slice(0, MAX_VALUE);
}

/** tokenSerial -> ETOKEN_CA_TOKEN_SERIAL */
function envName(field: string): string {
  return `ETOKEN_CA_${field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

function plainFields(details: EventDetails): Array<[string, string]> {
  return Object.entries(details)
    .filter(([key, value]) => FIELD_NAME.test(key) && key !== 'message' && ['string', 'number', 'boolean'].includes(typeof value))
    .map(([key, value]) => [key, clean(String(value))]);
}

export function eventMessage(event: string, details: EventDetails, host: string, at: Date): EventMessage {
  const name = /^[a-z][a-z0-9.-]{0,63}$/.test(event) ? event : 'unknown';
  const message = typeof details.message === 'string' ? clean(details.message) : (DESCRIPTIONS[name] ?? `etoken-ca event ${name}.`);
  const fields = plainFields(details);
  const env: Record<string, string> = {
    ETOKEN_CA_EVENT: name,
    ETOKEN_CA_MESSAGE: message,
    ETOKEN_CA_HOST: clean(host),
    ETOKEN_CA_TIME: at.toISOString(),
  };
  for (const [key, value] of fields) env[envName(key)] ??= value;
  const text = [message, '', `event: ${name}`, `host: ${clean(host)}`, `time: ${at.toISOString()}`, ...fields.map(([k, v]) => `${k}: ${v}`)].join('\n');
  return { event: name, subject: `[etoken-ca] ${name} on ${clean(host)}`, text: `${text}\n`, env };
}
