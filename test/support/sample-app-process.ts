import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');
const entry = join(root, 'dist/sample-app/main.js');
/** The built test app whose products and messages share a database transaction (test/fixtures/transactional-app). */
export const TRANSACTIONAL_APP = join(root, 'dist/test/fixtures/transactional-app/main.js');

/** The built sample app running in a child process. */
export interface SampleAppProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it printed so far. */
  output(): string;
}

/** Starts the built sample app as `npm start` does (or another built app), on an ephemeral port; resolves with its URL. */
export function startSampleApp(env: Record<string, string>, app = entry): Promise<SampleAppProcess> {
  if (!existsSync(app)) throw new Error(`${app} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [app], {
    cwd: root,
    env: { ...process.env, PORT: '0', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve({ child, url: match[1], output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      reject(new Error(`sample app exited with ${code}:\n${output}`));
    });
  });
}

/** Stops it with SIGTERM (a graceful shutdown) and waits for it to exit. */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    // A process killed by a signal has no exit code, only a signal code.
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.on('exit', () => {
      resolve();
    });
    child.kill('SIGTERM');
  });
}
