import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSampleApp, stop } from './support/sample-app-process.js';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

/** Runs a built entry point on this Node.js made to report `version`, as an older one would. */
async function runAs(
  version: string,
  script: string,
  args: readonly string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const pretend = `data:text/javascript,Object.defineProperty(process.versions, "node", { value: "${version}" });`;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', pretend, join(root, script), ...args], {
      cwd: root,
      env: { ...process.env, PORT: '0', NO_COLOR: '1' },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const minimum = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
).engines.node.replace('>=', '');

describe(`the Node.js it runs on (this run: ${process.version})`, () => {
  it.each([
    ['the sample app', 'dist/sample-app/main.js', [], 'The sample app'],
    ['the outbox CLI', 'dist/lib/cli/outbox-cli.js', ['stats', '--db', '/nonexistent/x.db'], 'nestjs-messaging outbox'],
  ])('%s refuses an unsupported Node.js with one sentence, not a stack trace', async (_, script, args, program) => {
    const { code, stdout, stderr } = await runAs('20.19.0', script, args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${program} needs Node.js ${minimum} or newer`);
    expect(stderr).toContain('this is Node.js 20.19.0');
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('the sample app starts on this Node.js and logs which one it runs on', async () => {
    const app = await startSampleApp({});
    try {
      expect(app.output()).toContain(`Node.js ${process.version}) listening on`);
    } finally {
      await stop(app.child);
    }
  });

  it('the SQLite outbox survives statements finalised by the garbage collector, open and after close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-soak-'));
    try {
      // A driver that mishandles finalisation kills the child by a signal (SIGABRT, SIGSEGV): execFile rejects.
      const { stdout } = await run(
        process.execPath,
        ['--expose-gc', join(root, 'dist/test/fixtures/sqlite-gc-soak.js'), '300'],
        { cwd: root, timeout: 60_000, env: { ...process.env, TMPDIR: dir } },
      );
      expect(JSON.parse(stdout)).toEqual({
        node: process.version,
        rounds: 300,
        delivered: 6000,
        preparedPerCall: 1200,
        retained: 2000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
