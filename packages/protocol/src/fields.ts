/**
 * Reading one message's fields strictly: exactly the expected keys, each of
 * the expected type and within its bounds. Every validator of the protocol
 * goes through this, so "strict" means the same thing in both directions.
 */
import { attributeByName, type Rdn } from '@etoken-ca/contract/core/dn';
import { ProtocolViolation } from './violation.js';

/** Request ids and check ids: printable ASCII without spaces. */
const ID = /^[\x21-\x7e]{1,128}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** RFC 5280's longest attribute value is 256 characters (UID); the contract's checks are tighter per type. */
const MAX_RDN_VALUE = 256;
export const MAX_RDNS = 16;
export const MAX_REASON = 1000;

/** The message's id when it has a valid one. */
export function idOf(message: Readonly<Record<string, unknown>>): string | undefined {
  const id = message.id;
  return typeof id === 'string' && ID.test(id) ? id : undefined;
}

export class MessageFields {
  readonly id: string | undefined;

  constructor(
    private readonly message: Readonly<Record<string, unknown>>,
    private readonly what: string,
    keys: readonly string[],
  ) {
    this.id = idOf(message);
    for (const key of Object.keys(message)) {
      if (key !== 'type' && !keys.includes(key)) this.fail(`carries an unexpected field "${key.slice(0, 40)}"`);
    }
  }

  fail(why: string): never {
    throw new ProtocolViolation(`${this.what} ${why}`, this.id);
  }

  requestId(): string {
    return this.id ?? this.fail('has no valid id');
  }

  string(key: string, max: number): string {
    const value = this.message[key];
    if (typeof value !== 'string' || value.length > max) this.fail(`has no ${key} string of at most ${max} characters`);
    return value as string;
  }

  optionalString(key: string, max: number): string | undefined {
    return this.message[key] === undefined ? undefined : this.string(key, max);
  }

  boolean(key: string): boolean {
    const value = this.message[key];
    if (typeof value !== 'boolean') this.fail(`has no boolean ${key}`);
    return value as boolean;
  }

  optionalBoolean(key: string): boolean | undefined {
    return this.message[key] === undefined ? undefined : this.boolean(key);
  }

  integer(key: string, min: number, max: number): number {
    const value = this.message[key];
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) this.fail(`has no whole ${key} from ${min} to ${max}`);
    return value as number;
  }

  optionalInteger(key: string, min: number, max: number): number | undefined {
    return this.message[key] === undefined ? undefined : this.integer(key, min, max);
  }

  base64(key: string, maxBytes: number): Buffer {
    const text = this.string(key, Math.ceil(maxBytes / 3) * 4);
    if (!BASE64.test(text)) this.fail(`has a ${key} that is not base64`);
    return Buffer.from(text, 'base64');
  }

  list<T>(key: string, max: number, item: (value: unknown) => T | undefined): T[] {
    const value = this.message[key];
    if (!Array.isArray(value) || value.length > max) this.fail(`has no ${key} list of at most ${max} items`);
    return (value as unknown[]).map((v) => item(v) ?? this.fail(`has a malformed item in ${key}`));
  }

  rdns(key: string): Rdn[] {
    return this.list(key, MAX_RDNS, (v) => {
      const rdn = v as Partial<Record<string, unknown>> | null;
      if (typeof rdn !== 'object' || rdn === null || Object.keys(rdn).length !== 2) return undefined;
      const { type, value } = rdn;
      if (typeof type !== 'string' || attributeByName(type)?.name !== type) return undefined;
      if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RDN_VALUE) return undefined;
      return { type, value };
    });
  }

  payload(payload: Buffer | undefined, max: number, min = 1): Buffer {
    if (!payload || payload.length < min || payload.length > max) this.fail(`has no payload of ${min} to ${max} bytes`);
    return payload!;
  }

  none(payload: Buffer | undefined): void {
    if (payload) this.fail('carries a payload it should not');
  }
}
