import { spawn, spawnSync, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpPlatform } from '../sample-app/http-platform.js';
import type { Readable } from 'node:stream';
import type { HttpVariant } from './http-bench.app.js';
import type { InProcessResult } from './in-process-load.js';

/**
 * Pins this process (the load generator) to the last core with `taskset`; returns the core left
 * for servers (0), or `undefined` when there is one core or no `taskset`.
 */
export function pinLoadGenerator(): number | undefined {
  const cores = availableParallelism();
  if (cores < 2) return undefined;
  const pinned = spawnSync('taskset', ['-cp', String(cores - 1), String(process.pid)], { stdio: 'ignore' });
  return pinned.status === 0 ? 0 : undefined;
}

/**
 * Spawns one variant in its own process, so the load generator does not share its event loop; on
 * `core` when given. With `BENCH_CPU_PROF=<folder>`, the server writes a `--cpu-prof` profile there
 * when it exits (on SIGTERM, or at the end of an in-process measurement).
 */
function spawnServer(
  platform: HttpPlatform,
  variant: HttpVariant,
  env: Record<string, string>,
  core: number | undefined,
): ChildProcessByStdio<null, Readable, null> {
  const outboxFolder = mkdtempSync(join(tmpdir(), 'bench-outbox-'));
  const profile = process.env.BENCH_CPU_PROF;
  const node = [
    ...(profile === undefined
      ? []
      : [
          '--cpu-prof',
          '--cpu-prof-dir',
          profile,
          '--cpu-prof-name',
          `${platform}-${variant}-${Date.now()}.cpuprofile`,
        ]),
    join(import.meta.dirname, 'http-bench.app.js'),
  ];
  const [command, args] =
    core === undefined ? [process.execPath, node] : ['taskset', ['-c', String(core), process.execPath, ...node]];
  const child = spawn(command, args, {
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
  return child;
}

/** Resolves with the first match of `pattern` in the child's output; rejects if it exits first. */
function awaitLine(child: ChildProcessByStdio<null, Readable, null>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => {
      reject(new Error(`bench server exited with ${code}`));
    });
  });
}

/** Starts one variant listening on a free port (see `spawnServer`); resolves with its URL. */
export async function startServer(
  platform: HttpPlatform,
  variant: HttpVariant,
  env: Record<string, string> = {},
  core?: number,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnServer(platform, variant, env, core);
  return { child, url: await awaitLine(child, /READY (\S+)/) };
}

/**
 * Runs one variant's in-process measurement of `requests` requests (`BENCH_IN_PROCESS`, see
 * in-process-load.ts) in its own process, on `core` when given, and returns what it printed.
 */
export async function measureServerInProcess(
  platform: HttpPlatform,
  variant: HttpVariant,
  requests: number,
  core?: number,
): Promise<InProcessResult> {
  const child = spawnServer(platform, variant, { BENCH_IN_PROCESS: String(requests) }, core);
  const result = JSON.parse(await awaitLine(child, /RESULT (\{.*\})\n/)) as InProcessResult;
  // The next measurement starts once this process is gone (and has written its profile).
  if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  return result;
}
