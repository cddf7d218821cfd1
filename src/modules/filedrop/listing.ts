import type { Attributes, FileEntry } from 'ssh2';

export const DIR_MODE = 0o40755;
export const FILE_MODE = 0o100644;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HALF_YEAR_MS = 182 * 24 * 3600 * 1000;

export function attrsOf(kind: 'dir' | 'file', size: number, mtimeMs: number): Attributes {
  const seconds = Math.max(0, Math.floor(mtimeMs / 1000));
  return {
    mode: kind === 'dir' ? DIR_MODE : FILE_MODE,
    uid: 0,
    gid: 0,
    size,
    atime: seconds,
    mtime: seconds,
  };
}

/** `ls -l`'s date column, in UTC: `Jun  5 14:03` within half a year of now, else `Jun  5  2025`. */
function lsDate(mtimeMs: number, nowMs: number): string {
  const d = new Date(mtimeMs);
  const day = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')}`;
  if (Math.abs(nowMs - mtimeMs) < HALF_YEAR_MS) {
    const hh = String(d.getUTCHours()).padStart(2, '0');
    const mm = String(d.getUTCMinutes()).padStart(2, '0');
    return `${day} ${hh}:${mm}`;
  }
  return `${day}  ${d.getUTCFullYear()}`;
}

/** The owner column: the channel id when it is a short plain word, else `channel`. */
export function ownerName(channelId: string): string {
  return /^[\w.-]{1,32}$/.test(channelId) ? channelId : 'channel';
}

/** A directory entry as OpenSSH's sftp-server sends it: the name, an `ls -l` line, the attributes. */
export function entryOf(
  name: string,
  kind: 'dir' | 'file',
  size: number,
  mtimeMs: number,
  owner: string,
  nowMs: number,
): FileEntry {
  const perms = kind === 'dir' ? 'drwxr-xr-x' : '-rw-r--r--';
  const links = kind === 'dir' ? 2 : 1;
  const longname = `${perms} ${String(links).padStart(3)} ${owner.padEnd(8)} ${owner.padEnd(8)} ${String(size).padStart(8)} ${lsDate(mtimeMs, nowMs)} ${name}`;
  return { filename: name, longname, attrs: attrsOf(kind, size, mtimeMs) };
}
