import { describe, expect, it } from 'vitest';
import { memoByText } from './memo.js';

describe('memoByText', () => {
  it('answers a text seen before without calling again, and starts over past its size', () => {
    const calls: string[] = [];
    const hash = memoByText((t) => {
      calls.push(t);
      return `h(${t})`;
    }, 2);
    expect([hash('a'), hash('a'), hash('b'), hash('a')]).toEqual(['h(a)', 'h(a)', 'h(b)', 'h(a)']);
    expect(calls).toEqual(['a', 'b']);
    hash('c'); // a third text: the memory starts over
    expect(hash('a')).toBe('h(a)');
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });
});
