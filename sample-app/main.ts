// The entry point checks the Node.js version before anything else loads, so an
// unsupported Node gets one sentence instead of a stack trace or a crash in a native addon.
import { unsupportedNodeReason } from 'nestjs-messaging/node-support';

const reason = unsupportedNodeReason('The sample app');
if (reason === undefined) {
  const { bootstrap } = await import('./bootstrap.js');
  await bootstrap();
} else {
  process.stderr.write(`${reason}\nFrom this checkout, npm start runs it on the pinned Node.js 24.\n`);
  process.exitCode = 1;
}
