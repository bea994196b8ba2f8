import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { mutationRootFields } from '../../src/mutation-budget.js';

describe('mutationRootFields', () => {
  it('counts the root fields of the selected mutation, through aliases and fragments', () => {
    expect(mutationRootFields(parse('mutation { a: startChat { id } b: startChat { id } }'))).toBe(2);
    expect(mutationRootFields(parse('mutation { ... on Mutation { a: x b: y } ...F } fragment F on Mutation { c: z d: w }'))).toBe(4);
    expect(mutationRootFields(parse('mutation { ...F } fragment F on Mutation { a: x ...F }'))).toBe(1);
    expect(mutationRootFields(parse('query Q { a b c } mutation M { x }'), 'M')).toBe(1);
    expect(mutationRootFields(parse('query Q { a b c } mutation M { x }'), 'Q')).toBe(0);
    expect(mutationRootFields(parse('subscription { a }'))).toBe(0);
  });
});
