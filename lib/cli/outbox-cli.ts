#!/usr/bin/env node
// `npx nestjs-messaging outbox list|show|requeue|purge|stats|status|migrate|sql ...`: operations on an outbox and its schema.
// The Node.js version is checked before the command (and the database driver it loads) is imported.
import { unsupportedNodeReason } from '../kernel/node-support.js';

const reason = unsupportedNodeReason('nestjs-messaging outbox');
if (reason === undefined) {
  const { runOutboxCommand } = await import('./outbox-command.js');
  const { exitCode, output } = await runOutboxCommand(process.argv.slice(2));
  (exitCode === 0 ? process.stdout : process.stderr).write(output);
  process.exitCode = exitCode;
} else {
  process.stderr.write(`${reason}\n`);
  process.exitCode = 1;
}
