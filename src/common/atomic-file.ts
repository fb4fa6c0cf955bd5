import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The mode of every file MailDesk writes that holds a secret: the owner reads and writes, nobody else. */
export const SECRET_FILE_MODE = 0o600;

/**
 * Writes `content` to `file` atomically, mode 0600: a temporary file in the same directory
 * (created 0600, written, fsynced), then renamed over `file` (`replace`), or hard-linked to it
 * when it must not exist yet (false when another process created it first). A crash leaves the
 * old file or the new one, never a part; no reader ever sees the file readable by others.
 */
export function writeAtomically(file: string, content: string, replace: boolean): boolean {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomUUID()}.tmp`);
  const fd = fs.openSync(tmp, 'wx', SECRET_FILE_MODE);
  try {
    try {
      fs.fchmodSync(fd, SECRET_FILE_MODE); // whatever the umask
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (replace) {
      fs.renameSync(tmp, file);
    } else {
      try {
        fs.linkSync(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  // The directory entry too (best effort: not every file system lets a directory be fsynced).
  try {
    const dirFd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    /* the rename itself is atomic */
  }
  return true;
}
