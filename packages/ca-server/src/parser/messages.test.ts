import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/config';
import { answer, decodeParseRequest, ProtocolError } from './messages.js';
import { keys, rsaCsr } from '../../../../test/corpus/csr-builder.js';
import { request } from '../../../../test/corpus/requests.js';

const config = parseConfig('DN_FORMAT=/DC=org%s\n', 'test.conf');

describe('decodeParseRequest', () => {
  it('takes a well-formed parse request', () => {
    expect(decodeParseRequest('{"type":"parse","id":"r-1","data":"QUJD","extra":1}')).toEqual({ type: 'parse', id: 'r-1', data: 'QUJD' });
  });

  it.each([
    'not json',
    'null',
    '[]',
    '"parse"',
    '{"type":"sign","id":"x","data":""}',
    '{"type":"parse","data":""}',
    '{"type":"parse","id":"","data":""}',
    '{"type":"parse","id":"a b","data":""}',
    `{"type":"parse","id":"${'x'.repeat(129)}","data":""}`,
    '{"type":"parse","id":"x","data":"QUJ"}',
    '{"type":"parse","id":"x","data":"QU*D"}',
    '{"type":"parse","id":"x","data":5}',
  ])('refuses %j as a protocol error', (line) => {
    expect(() => decodeParseRequest(line)).toThrow(ProtocolError);
  });
});

describe('answer', () => {
  const base64 = (bytes: Buffer): string => bytes.toString('base64');

  it('answers parsed with the fields', () => {
    const result = answer({ type: 'parse', id: 'a', data: base64(request(rsaCsr(keys().rsa2048))) }, config, () => {});
    expect(result).toMatchObject({ type: 'parsed', id: 'a', fields: { keyType: 'rsa', subject: [{ type: 'DC', value: 'org' }, { type: 'O', value: 'Example' }, { type: 'CN', value: 'John Doe' }] } });
  });

  it('answers refused with the reason', () => {
    expect(answer({ type: 'parse', id: 'b', data: '' }, config, () => {})).toEqual({ type: 'refused', id: 'b', reason: 'request has no blank line before the CSR' });
  });

  it('answers an unexpected exception as an internal error and reports it', () => {
    const report = vi.fn();
    const broken = { ...config, get maxRequestSize(): number { throw new TypeError('boom'); } };
    expect(answer({ type: 'parse', id: 'c', data: '' }, broken, report)).toEqual({ type: 'refused', id: 'c', reason: 'internal parser error' });
    expect(report).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
  });
});
