import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A lease owner id for this process: `<host>-<pid>-<random>`. Unique per
 * process, and it tells a later process on the same host whether its owner is
 * still alive (see `isDeadLocalOwner`).
 */
export function ownerId(pid: number = process.pid): string {
  return `${hostname()}-${pid}-${randomUUID().slice(0, 8)}`;
}

/** Whether `owner` (an id from `ownerId`) names a process of this host that has ended. */
export function isDeadLocalOwner(owner: string): boolean {
  const parts = owner.split('-');
  if (parts.length < 3) return false;
  const pid = Number(parts[parts.length - 2]);
  const host = parts.slice(0, -2).join('-');
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
