import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpPlatform } from '../sample-app/http-platform.js';
import type { HttpVariant } from './http-bench.app.js';

/** Starts one variant in its own process, so the load generator does not share its event loop. */
export function startServer(
  platform: HttpPlatform,
  variant: HttpVariant,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  const outboxFolder = mkdtempSync(join(tmpdir(), 'bench-outbox-'));
  const child = spawn(process.execPath, [join(import.meta.dirname, 'http-bench.app.js')], {
    env: {
      ...process.env,
      HTTP_PLATFORM: platform,
      BENCH_VARIANT: variant,
      BENCH_OUTBOX_PATH: join(outboxFolder, 'outbox.db'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.on('exit', () => {
    rmSync(outboxFolder, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /READY (\S+)/.exec(output);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => {
      reject(new Error(`bench server exited with ${code}`));
    });
  });
}
