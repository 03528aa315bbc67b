import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A lease owner id for this process: `<host>-<pid>-<uuid>`, unique per
 * process. The host and PID are there for operators reading the outbox; they
 * are never used to judge whether the owner is alive (a PID says nothing
 * across PID namespaces, containers or hosts, and PIDs are reused): only the
 * store may, by its own proof (`OutboxDeliveryStore.takeOverLeases`).
 */
export function ownerId(pid: number = process.pid): string {
  return `${hostname()}-${pid}-${randomUUID()}`;
}
