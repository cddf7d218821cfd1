/**
 * The file drop's virtual tree, as paths: `/`, `/in`, `/out`, and plain files directly under `in/` and
 * `out/`. Pure functions, no file system: nothing here (or anywhere in the file drop) touches a disk.
 */

export type DropDir = 'in' | 'out';

export type DropNode =
  | { kind: 'root' }
  | { kind: 'dir'; dir: DropDir }
  | { kind: 'file'; dir: DropDir; name: string };

export type Resolved =
  /** `path` is the normalised absolute path of `node`. */
  | { ok: true; path: string; node: DropNode }
  /** `escape`: a `..` climbs above the root; `absent`: a path the tree cannot hold (`/etc`, `/in/a/b`). */
  | { ok: false; why: 'escape' | 'absent' }
  /** A single name under `in/` or `out/` that no file of the drop may have; `problem` says why. */
  | { ok: false; why: 'bad_name'; problem: string };

export const MAX_NAME_CHARS = 200;
/** Longer paths are refused before they are split (an SFTP packet may carry 256 KiB of path). */
export const MAX_PATH_CHARS = 4096;

/**
 * Normalises an SFTP path the way a chrooted server does, from the root (a channel's home is `/`, so a
 * relative path is relative to `/`): empty and `.` segments go, `..` drops the segment before it.
 * Returns the absolute path (`/`, `/in`, `/in/cards.txt`), or null when a `..` would climb above the
 * root (`/..`, `/in/../../x`: such a path is refused, not clamped to `/`) or the path is longer than
 * `MAX_PATH_CHARS`.
 */
export function normalisePath(path: string): string | null {
  if (path.length > MAX_PATH_CHARS) return null;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return null;
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** Controls, format characters (bidi overrides, zero-width), line separators, and U+FFFD (bytes not UTF-8). */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\uFFFD]/u;

/**
 * Why `name` cannot be a file of the drop, or null if it can: a plain name (no `/` or `\`), not `.` or
 * `..`, 1 to 200 characters, printable, not starting or ending with a space.
 */
export function fileNameProblem(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return 'a file name is required';
  if (name.includes('/') || name.includes('\\')) return 'a file name may not contain / or \\';
  if ([...name].length > MAX_NAME_CHARS) return `a file name may have at most ${MAX_NAME_CHARS} characters`;
  if (UNPRINTABLE.test(name)) return 'a file name must be printable UTF-8';
  if (name.trim() !== name) return 'a file name may not start or end with a space';
  return null;
}

/** Where `path` lands in the tree (whether or not such a file exists: that is the port's to say). */
export function resolvePath(path: string): Resolved {
  const normal = normalisePath(path);
  if (normal === null) return { ok: false, why: 'escape' };
  if (normal === '/') return { ok: true, path: normal, node: { kind: 'root' } };
  const [dir, name, ...rest] = normal.slice(1).split('/');
  if ((dir !== 'in' && dir !== 'out') || rest.length > 0) return { ok: false, why: 'absent' };
  if (name === undefined) return { ok: true, path: normal, node: { kind: 'dir', dir } };
  const problem = fileNameProblem(name);
  if (problem !== null) return { ok: false, why: 'bad_name', problem };
  return { ok: true, path: normal, node: { kind: 'file', dir, name } };
}
