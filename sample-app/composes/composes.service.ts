import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MessageQueue } from 'nestjs-messaging';
import type { Compose } from './compose.js';

/** In-memory composes; RPM imports are announced on `.rpms`. */
@Injectable()
export class ComposesService {
  private readonly composes = new Map<string, Compose>();

  constructor(private readonly messages: MessageQueue) {}

  create(compose: Compose): Compose {
    if (this.composes.has(compose.compose_id)) {
      throw new ConflictException(`Compose ${compose.compose_id} already exists`);
    }
    this.composes.set(compose.compose_id, compose);
    return compose;
  }

  importRpms(composeId: string, rpms: readonly string[]): Compose {
    const compose = this.composes.get(composeId);
    if (!compose) throw new NotFoundException(`Compose ${composeId} not found`);
    const updated: Compose = { ...compose, rpms: [...compose.rpms, ...rpms] };
    this.composes.set(composeId, updated);
    this.messages.add('.rpms', {
      action: 'import',
      attribute: 'rpms',
      count: rpms.length,
      compose_id: compose.compose_id,
      compose_date: compose.compose_date,
      compose_type: compose.compose_type,
      compose_respin: compose.compose_respin,
    });
    return updated;
  }
}
