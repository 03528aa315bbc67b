/**
 * The SQLite outbox table. `sequence` is the acceptance order; `status` is
 * pending, delivered or dead; the lease columns say which dispatcher holds a
 * pending message and until when.
 */
export function outboxSchema(table: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${table} (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  body TEXT NOT NULL,
  headers TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  settled_at INTEGER,
  lease_owner TEXT,
  lease_expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS ${table}_pending ON ${table} (sequence) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ${table}_pending_due ON ${table} (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ${table}_pending_leased ON ${table} (lease_expires_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ${table}_settled ON ${table} (status, settled_at) WHERE status <> 'pending';
`;
}
