#!/usr/bin/env node
// `npx nestjs-messaging outbox list|retry|purge|stats --db <file> | --postgres <url>`: operations on an outbox.
import { runOutboxCommand } from './outbox-command.js';

const { exitCode, output } = await runOutboxCommand(process.argv.slice(2));
(exitCode === 0 ? process.stdout : process.stderr).write(output);
process.exitCode = exitCode;
