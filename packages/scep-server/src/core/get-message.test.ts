import { describe, expect, it } from 'vitest';
import { ScepError } from './fail-info.js';
import { decodeGetMessage } from './get-message.js';
import { MAX_GET_MESSAGE_CHARS } from './limits.js';

const message = Buffer.from('3082010a06092a864886f70d010702a0fbfe', 'hex');

describe('decodeGetMessage', () => {
  it('decodes base64, also with line breaks and with a "+" the query parser turned into a space', () => {
    const base64 = message.toString('base64');
    expect(base64).toContain('+');
    expect(decodeGetMessage(base64)).toEqual(message);
    expect(decodeGetMessage(base64.replace(/\+/g, ' '))).toEqual(message);
    expect(decodeGetMessage(`${base64.slice(0, 8)}\r\n${base64.slice(8)}`)).toEqual(message);
  });

  it.each([[''], ['abc'], ['ab$d'], ['AAAA=AAA'], ['x'.repeat(MAX_GET_MESSAGE_CHARS + 4)]])('refuses %j as badRequest', (parameter) => {
    expect(() => decodeGetMessage(parameter)).toThrow(ScepError);
  });
});
