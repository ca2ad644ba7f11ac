import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { keys, rsaCsr } from '../../../../test/corpus/csr-builder.js';
import { request } from '../../../../test/corpus/requests.js';
import { answer } from './messages.js';

const config = parseConfig('DN_FORMAT=/DC=org%s\n', 'test.conf');

describe('answer', () => {
  it('answers parsed with the fields', () => {
    const result = answer({ type: 'parse', id: 'a', request: request(rsaCsr(keys().rsa2048)) }, config, () => {});
    expect(result).toMatchObject({ type: 'parsed', id: 'a', fields: { subject: [{ type: 'DC', value: 'org' }, { type: 'O', value: 'Example' }, { type: 'CN', value: 'John Doe' }] } });
  });

  it('answers refused with the reason', () => {
    expect(answer({ type: 'parse', id: 'b', request: Buffer.alloc(0) }, config, () => {})).toEqual({ type: 'refused', id: 'b', reason: 'request has no blank line before the CSR' });
  });

  it('answers an unexpected exception as an internal error and reports it', () => {
    const report = vi.fn();
    const broken = { ...config, get maxRequestSize(): number { throw new TypeError('boom'); } };
    expect(answer({ type: 'parse', id: 'c', request: Buffer.alloc(0) }, broken, report)).toEqual({ type: 'refused', id: 'c', reason: 'internal parser error' });
    expect(report).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
  });
});
