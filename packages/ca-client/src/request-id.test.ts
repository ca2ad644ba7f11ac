import { describe, expect, it } from 'vitest';
import { REQUEST_ID } from '@etoken-ca/contract/core/spool';
import { newRequestId } from './request-id.js';

describe('newRequestId', () => {
  it('makes ids of the contract form, a new one each time', () => {
    const ids = Array.from({ length: 100 }, newRequestId);
    for (const id of ids) expect(id).toMatch(REQUEST_ID);
    expect(new Set(ids).size).toBe(100);
  });
});
