import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);
// The outer `npm test` exports npm_* variables (its own config); the npm run here is a new user's.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));

/** Every package folder under node_modules, scoped ones as `@scope/name`. */
function installed(app: string): string[] {
  const modules = join(app, 'node_modules');
  return readdirSync(modules).flatMap((name) =>
    name.startsWith('@') ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name],
  );
}

describe('the packed package, installed into a new application with the README install command', () => {
  let app: string;
  beforeAll(async () => {
    app = mkdtempSync(join(tmpdir(), 'fresh-app-'));
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', app], {
      cwd: root,
      env,
    });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module' }),
    );
    await run('npm', ['install', `./${filename}`, 'nestjs-cls', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: app,
      env,
      timeout: 150_000,
    });
  }, 180_000);
  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
  });

  it('installs without a conflict and downloads no Node.js build', () => {
    const packages = installed(app);
    expect(packages).toEqual(
      expect.arrayContaining(['nestjs-messaging', 'nestjs-cls', '@nestjs/common', '@nestjs/core']),
    );
    expect(packages.filter((name) => /^node(-|$)/.test(name))).toEqual([]);
    // Optional peers stay out until the application asks for them.
    expect(packages.filter((name) => ['rhea', 'zeromq', 'better-sqlite3', 'pg'].includes(name))).toEqual([]);
    expect(existsSync(join(app, 'node_modules/nestjs-messaging/dist/lib/index.js'))).toBe(true);
  });

  it('loads both entry points from the installed package', async () => {
    const script = [
      "import 'reflect-metadata';",
      "import { MessagingModule, createMessage } from 'nestjs-messaging';",
      "import { MINIMUM_NODE_VERSION } from 'nestjs-messaging/node-support';",
      "const message = createMessage('.fresh.app', { ok: true });",
      'console.log(JSON.stringify({ forRoot: typeof MessagingModule.forRoot, topic: message.topic, minimum: MINIMUM_NODE_VERSION }));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    expect(JSON.parse(stdout)).toEqual({
      forRoot: 'function',
      topic: '.fresh.app',
      minimum: expect.stringMatching(/^22\./),
    });
  });
});
