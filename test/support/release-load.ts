import type { Message as RheaMessage } from 'rhea';
import { request } from './http-app.js';

// Load and tallies for the specs that drive the built sample app's POST /releases and read what
// reached the bus.

/** What `postReleases()` got back. */
export interface LoadResult {
  /** Release ids of the requests that got a 2xx answer. */
  readonly accepted: string[];
  readonly statuses: Map<number, number>;
}

/** POSTs `count` releases named `<prefix><n>`, `concurrency` at a time; stops early when `until()` says so. */
export async function postReleases(
  url: string,
  prefix: string,
  count: number,
  concurrency: number,
  until: () => boolean = () => false,
  /** Filled as responses arrive, for a caller that acts on progress. */
  accepted: string[] = [],
): Promise<LoadResult> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !until()) {
      const n = next++;
      let status: number;
      try {
        status = (
          await request(url, 'POST', '/releases', { body: { short: `${prefix}${n}`, version: '1', name: 'R' } })
        ).status;
      } catch {
        status = 0; // The connection died with the server: no answer, so no promise was made.
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) accepted.push(`${prefix}${n}-1`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { accepted, statuses };
}

/** Release ids and message ids received, with the duplicates (same message id twice) counted. */
export function tally(received: readonly RheaMessage[]): { releases: Set<string>; duplicates: number } {
  const ids = new Set<string>();
  let duplicates = 0;
  const releases = new Set<string>();
  for (const message of received) {
    const id = String(message.message_id);
    if (ids.has(id)) duplicates++;
    ids.add(id);
    releases.add(String((message.application_properties as Record<string, unknown>)['DATA:release_id']));
  }
  return { releases, duplicates };
}
