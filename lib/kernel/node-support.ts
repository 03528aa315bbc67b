/**
 * The oldest Node.js this package runs on: the `engines.node` floor of its
 * package.json (a test keeps the two equal). 22.14 is where `better-sqlite3`
 * 13's prebuilt Node-API addon loads (below it the process dies with a
 * segmentation fault, whatever that package's own `engines` says) and where
 * CommonJS code can `require()` the ESM-only NestJS 12.
 */
export const MINIMUM_NODE_VERSION = '22.14.0';

/**
 * Why `program` cannot run on this Node.js, as one sentence to print, or
 * `undefined` when the version is supported (at least {@link MINIMUM_NODE_VERSION}).
 * This module imports nothing, so an entry point can call it before it loads
 * NestJS or a native addon, and exit with a clear message instead of a stack trace.
 *
 * @param program - what is starting, for the message (`'The sample app'`, say).
 * @param version - the version to check, `major.minor.patch`; default: the running one (`process.versions.node`).
 * @example
 * ```ts
 * import { unsupportedNodeReason } from 'nestjs-messaging/node-support';
 * const reason = unsupportedNodeReason('my-service');
 * if (reason) { console.error(reason); process.exit(1); }
 * await import('./bootstrap.js');
 * ```
 */
export function unsupportedNodeReason(program: string, version: string = process.versions.node): string | undefined {
  const have = parts(version);
  const need = parts(MINIMUM_NODE_VERSION);
  const order = have[0] - need[0] || have[1] - need[1] || have[2] - need[2];
  if (order >= 0) return undefined;
  return (
    `${program} needs Node.js ${MINIMUM_NODE_VERSION} or newer (Node.js 22, 24 or 26); ` +
    `this is Node.js ${version.replace(/^v/, '')}, run as ${process.execPath}.`
  );
}

function parts(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  return [major, minor, patch];
}
