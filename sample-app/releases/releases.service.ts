import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MessageQueue } from 'nestjs-messaging';
import type { Release, ReleaseChanges } from './release.js';

/** In-memory release storage that announces every change on the message bus. */
@Injectable()
export class ReleasesService {
  private readonly releases = new Map<string, Release>();

  constructor(private readonly messages: MessageQueue) {}

  get(releaseId: string): Release {
    const release = this.releases.get(releaseId);
    if (!release) throw new NotFoundException(`Release ${releaseId} not found`);
    return release;
  }

  create(release: Release, url: string): Release {
    // Queued before the insert on purpose: a failing insert (409) must not send it.
    this.messages.add('.releases.added', { new_value: release, url });
    if (this.releases.has(release.release_id)) {
      throw new ConflictException(`Release ${release.release_id} already exists`);
    }
    this.releases.set(release.release_id, release);
    return release;
  }

  update(releaseId: string, changes: ReleaseChanges, url: string): Release {
    const old = this.get(releaseId);
    const updated: Release = { ...old, ...changes };
    const changed = (Object.keys(changes) as (keyof ReleaseChanges)[]).some((key) => old[key] !== updated[key]);
    if (!changed) return old;
    this.releases.set(releaseId, updated);
    this.messages.add('.releases.changed', { old_value: old, new_value: updated, url });
    return updated;
  }

  remove(releaseId: string): void {
    const old = this.get(releaseId);
    this.releases.delete(releaseId);
    this.messages.add('.releases.removed', { old_value: old, url: null });
  }
}
