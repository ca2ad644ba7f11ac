/**
 * A message that breaks the protocol: the wrong shape, out of turn, or about
 * a request that was never asked. Whoever sent it is treated as compromised.
 */
export class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation';

  constructor(
    message: string,
    /** The request the message named, when it named a valid one: its answer can still go out. */
    readonly id?: string,
  ) {
    super(message.replace(/[\r\n]+/g, ' '));
  }
}
