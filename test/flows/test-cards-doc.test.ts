import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { renderTestCards } from '../../src/simulators/test-cards.js';

it('docs/test-cards.md is what `recard simulate --print-cards` prints', () => {
  expect(readFileSync(new URL('../../docs/test-cards.md', import.meta.url), 'utf8')).toBe(renderTestCards());
});
