import { describe, expect, it } from 'vitest';
import { fileNameProblem, normalisePath, resolvePath } from './paths.js';

describe('file drop paths', () => {
  it.each([
    ['.', '/'],
    ['', '/'],
    ['/', '/'],
    ['//in', '/in'],
    ['in', '/in'],
    ['./in/', '/in'],
    ['/in/./cards.txt', '/in/cards.txt'],
    ['/in/../out', '/out'],
    ['/out/../in', '/in'],
    ['in/../out/r.csv', '/out/r.csv'],
    ['/in/..', '/'],
  ])('normalises %j from the root to %j', (path, normal) => {
    expect(normalisePath(path)).toBe(normal);
  });

  it.each(['..', '/..', '/../etc/passwd', '/in/../../x', '../in', '/out/../../..'])(
    'refuses %j, which climbs above the root',
    (path) => {
      expect(normalisePath(path)).toBeNull();
      expect(resolvePath(path)).toEqual({ ok: false, why: 'escape' });
    },
  );

  it('resolves the tree: the root, in/, out/ and plain files under them', () => {
    expect(resolvePath('/')).toEqual({ ok: true, path: '/', node: { kind: 'root' } });
    expect(resolvePath('in')).toEqual({ ok: true, path: '/in', node: { kind: 'dir', dir: 'in' } });
    expect(resolvePath('/out/a.report.csv')).toEqual({
      ok: true,
      path: '/out/a.report.csv',
      node: { kind: 'file', dir: 'out', name: 'a.report.csv' },
    });
    expect(resolvePath('/in/卡密 2026.txt')).toMatchObject({ ok: true, node: { name: '卡密 2026.txt' } });
  });

  it.each(['/etc/passwd', '/x', '/in/sub/x.txt', '/outbox', '/IN', '/in/a/..x/y'])(
    'finds %j nowhere in the tree',
    (path) => {
      expect(resolvePath(path)).toEqual({ ok: false, why: 'absent' });
    },
  );

  it('names why a file name under in/ cannot be', () => {
    expect(resolvePath('/in/a\\b')).toMatchObject({ ok: false, why: 'bad_name' });
    expect(resolvePath(`/in/${'x'.repeat(201)}`)).toMatchObject({ ok: false, why: 'bad_name' });
    expect(resolvePath('/in/a\u0000b')).toMatchObject({ ok: false, why: 'bad_name' });
  });

  it('takes plain printable names of up to 200 characters', () => {
    expect(fileNameProblem('cards.txt')).toBeNull();
    expect(fileNameProblem('x'.repeat(200))).toBeNull();
    expect(fileNameProblem('卡'.repeat(200))).toBeNull();
    for (const bad of [
      '',
      '.',
      '..',
      'a/b',
      'a\\b',
      'x'.repeat(201),
      'a\nb',
      'a\u0000b',
      'a\u007fb',
      'a\u202eb',
      'a\ufffdb',
      ' lead',
      'trail ',
    ]) {
      expect(fileNameProblem(bad), JSON.stringify(bad)).not.toBeNull();
    }
  });

  it('refuses a path longer than any client needs without splitting it', () => {
    expect(normalisePath(`/${'a/'.repeat(3000)}`)).toBeNull();
  });
});
