import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessagingError } from '../../kernel/messaging.errors.js';
import { loadBetterSqlite3 } from './load-better-sqlite3.js';

describe('loadBetterSqlite3', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'load-better-sqlite3-'));
  });
  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  /** A require() that resolves from a folder holding a fake better-sqlite3 of `version`. */
  function requireWith(version: string | undefined): NodeJS.Require {
    if (version !== undefined) {
      const pkg = join(folder, 'node_modules', 'better-sqlite3');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'better-sqlite3', version, main: 'index.js' }));
      writeFileSync(join(pkg, 'index.js'), 'module.exports = function FakeDatabase() {};');
    }
    return createRequire(join(folder, 'app.js'));
  }

  it('refuses version 12, which aborts the process on Node.js 24.19 to 24.21, naming the fix', () => {
    const load = (): unknown => loadBetterSqlite3(requireWith('12.11.1'));
    expect(load).toThrow(MessagingError);
    expect(load).toThrow('needs "better-sqlite3" version 13 or newer; 12.11.1 is installed');
    expect(load).toThrow('npm install better-sqlite3@13');
  });

  it('says how to install it when it is missing', () => {
    expect(() => loadBetterSqlite3(requireWith(undefined))).toThrow(
      'SqliteOutboxStore needs the "better-sqlite3" package, version 13: npm install better-sqlite3@13',
    );
  });

  it('loads version 13 and later', () => {
    expect(typeof loadBetterSqlite3(requireWith('13.2.0'))).toBe('function');
    expect(typeof loadBetterSqlite3(requireWith('14.0.0'))).toBe('function');
  });

  it("loads the project's own better-sqlite3 by default", () => {
    expect(loadBetterSqlite3().name).toBe('Database');
  });
});
