import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MINIMUM_NODE_VERSION, unsupportedNodeReason } from './node-support.js';

describe('unsupportedNodeReason', () => {
  it.each(['20.19.0', '20.20.2', '22.0.0', '22.13.1', 'v21.7.3'])(
    'refuses Node.js %s, naming what it needs',
    (version) => {
      const reason = unsupportedNodeReason('The sample app', version);
      expect(reason).toContain(`The sample app needs Node.js ${MINIMUM_NODE_VERSION} or newer`);
      expect(reason).toContain(`this is Node.js ${version.replace(/^v/, '')}`);
    },
  );

  it.each(['22.14.0', '22.23.5', 'v24.22.3', '26.12.1', '30.0.0'])('accepts Node.js %s', (version) => {
    expect(unsupportedNodeReason('x', version)).toBeUndefined();
  });

  it('accepts the Node.js running this test (the suite runs only on supported versions)', () => {
    expect(unsupportedNodeReason('x')).toBeUndefined();
  });

  it("is the floor of the package's engines.node", () => {
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(manifest.engines.node).toBe(`>=${MINIMUM_NODE_VERSION}`);
  });
});
