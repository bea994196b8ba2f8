import { describe, expect, it } from 'vitest';
import { checkAdminKey, constantTimeEqual } from '../../src/domain/admin-key.js';

describe('constantTimeEqual', () => {
  it('matches equal strings only, whatever their lengths, and keeps up with a changed secret', () => {
    expect(constantTimeEqual('admin-key-1', 'admin-key-1')).toBe(true);
    expect(constantTimeEqual('admin-key-2', 'admin-key-1')).toBe(false);
    expect(constantTimeEqual('admin-key-1-longer', 'admin-key-1')).toBe(false);
    expect(constantTimeEqual('', 'admin-key-1')).toBe(false);
    // Another secret (a test's own key, a reload): the kept digest follows it.
    expect(constantTimeEqual('other-key', 'other-key')).toBe(true);
    expect(constantTimeEqual('admin-key-1', 'other-key')).toBe(false);
    expect(constantTimeEqual('admin-key-1', 'admin-key-1')).toBe(true);
  });
});

describe('checkAdminKey', () => {
  it('answers unconfigured, missing, wrong and ok, with or without Bearer', () => {
    expect(checkAdminKey('Bearer k', '')).toBe('unconfigured');
    expect(checkAdminKey(undefined, 'k-secret')).toBe('missing');
    expect(checkAdminKey('Bearer nope', 'k-secret')).toBe('wrong');
    expect(checkAdminKey('Bearer k-secret', 'k-secret')).toBe('ok');
    expect(checkAdminKey('k-secret', 'k-secret')).toBe('ok');
    expect(checkAdminKey('bearer   k-secret ', 'k-secret')).toBe('ok');
  });
});
