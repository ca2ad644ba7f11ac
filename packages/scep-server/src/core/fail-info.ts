/**
 * RFC 8894 §3.2.1.4: why a request failed, as a CertRep FAILURE carries it.
 * The codes are the decimal strings the failInfo attribute holds.
 */
export const FAIL_INFO_CODES = {
  badAlg: '0',
  badMessageCheck: '1',
  badRequest: '2',
  badTime: '3',
  badCertId: '4',
} as const;

export type FailInfo = keyof typeof FAIL_INFO_CODES;

/** What a FAILURE reply must echo: known once the request's attributes were read. */
export interface ReplyTo {
  readonly transactionId: string;
  readonly senderNonce: Buffer;
}

/**
 * A refused request. `replyTo` is set when the request was readable far
 * enough to be answered with a signed CertRep FAILURE; without it the front
 * end can only answer at the HTTP level.
 */
export class ScepError extends Error {
  override readonly name = 'ScepError';

  constructor(
    readonly failInfo: FailInfo,
    message: string,
    readonly replyTo?: ReplyTo,
  ) {
    super(message);
  }
}

/** The same refusal, now addressed to the request it is about. */
export function withReplyTo(error: unknown, replyTo: ReplyTo): unknown {
  return error instanceof ScepError && error.replyTo === undefined ? new ScepError(error.failInfo, error.message, replyTo) : error;
}

/**
 * Runs a parse of hostile input: whatever a library throws on the way,
 * beyond our own refusals (a value it decoded but cannot encode again, a
 * key OpenSSL will not load), is a malformed request.
 */
export function refusingMalformed<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ScepError) throw error;
    throw new ScepError('badRequest', `${what} is malformed`);
  }
}
