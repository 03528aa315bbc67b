import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * The folders of lib/ form a one-way stack: a folder imports only from folders below it.
 * kernel (message, errors, contracts) ← messengers, stores ← delivery, cli ← transactional ← request ← module, graphql, terminus, opentelemetry ← testing.
 */
const LAYERS: Readonly<Partial<Record<string, number>>> = {
  kernel: 0,
  messengers: 1,
  stores: 1,
  delivery: 2,
  cli: 2,
  transactional: 3,
  request: 4,
  module: 5,
  graphql: 5,
  terminus: 5,
  opentelemetry: 5,
  testing: 6,
};

const lib = join(import.meta.dirname, '..', 'lib');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]);
}

const folderOf = (path: string): string => relative(lib, path).split('/')[0];

describe('the folders of lib/', () => {
  it('each have a layer (a new folder must be placed in the stack)', () => {
    const folders = readdirSync(lib, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map(({ name }) => name);
    expect(folders.filter((name) => LAYERS[name] === undefined)).toEqual([]);
  });

  it('import only from their own folder or a lower layer', () => {
    const upward = sourceFiles(lib).flatMap((file) => {
      const from = folderOf(file);
      const layer = LAYERS[from];
      if (layer === undefined) return []; // lib/index.ts: the public surface, above everything
      return relativeImports(file)
        .map((specifier) => normalize(join(dirname(file), specifier)))
        .filter((target) => {
          const to = folderOf(target);
          return to !== from && (LAYERS[to] ?? Infinity) >= layer;
        })
        .map((target) => `${relative(lib, file)} -> ${relative(lib, target)}`);
    });
    expect(upward).toEqual([]);
  });

  it('keep delivery independent of any messenger: it reads only the kernel Messenger contract', () => {
    const fromDelivery = sourceFiles(join(lib, 'delivery')).flatMap((file) =>
      relativeImports(file)
        .map((specifier) => normalize(join(dirname(file), specifier)))
        .filter((target) => folderOf(target) === 'messengers')
        .map((target) => `${relative(lib, file)} -> ${relative(lib, target)}`),
    );
    expect(fromDelivery).toEqual([]);
  });

  it('hold small files with one job each: none over 250 lines, specs included', () => {
    const all = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? all(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
      );
    const long = all(lib)
      .map((file) => ({ file: relative(lib, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 250);
    expect(long).toEqual([]);
  });
});
