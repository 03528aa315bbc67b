import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from './support/http-app.js';

const root = join(import.meta.dirname, '..');
const entry = join(root, 'dist/sample-app/main.js');

/** Starts the built sample app as `npm start` does, on an ephemeral port; resolves with its URL. */
function startSampleApp(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [entry], {
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

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve();
      return;
    }
    child.on('exit', () => {
      resolve();
    });
    child.kill('SIGTERM');
  });
}

describe('the built sample app, as `npm start` runs it', () => {
  it('logs the messages of successful requests on the default messenger, none for a failed one', async () => {
    const app = await startSampleApp({});
    try {
      const release = { short: 'rhel', version: '10', name: 'RHEL' };
      expect(
        (await request(app.url, 'POST', '/releases', { body: release, headers: { authorization: 'Bearer ann' } }))
          .status,
      ).toBe(201);
      expect((await request(app.url, 'POST', '/releases', { body: release })).status).toBe(409);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const logged = app.output();
      expect(logged.match(/Message on \.releases\.added/g)).toHaveLength(1);
      expect(logged).toContain('"author": "ann"');
      expect(logged).toContain('"release_id": "rhel-10"');
    } finally {
      await stop(app.child);
    }
  });

  it('refuses an unknown MESSAGE_BUS_BACKEND at start-up, naming the variable', async () => {
    await expect(startSampleApp({ MESSAGE_BUS_BACKEND: 'carrier-pigeon' })).rejects.toThrow(
      'MESSAGE_BUS_BACKEND: unknown back-end "carrier-pigeon"',
    );
  });
});
