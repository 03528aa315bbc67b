import {
  Body,
  Controller,
  Get,
  NotFoundException,
  Param,
  ParseEnumPipe,
  ParseIntPipe,
  Post,
  Query,
} from '@nestjs/common';
import {
  OutboxAdmin,
  type DeadReason,
  type OutboxEntry,
  type OutboxPurgeFilter,
  type OutboxRequeueFilter,
  type OutboxStats,
  type OutboxStatus,
} from 'nestjs-messaging';

const STATUSES = { pending: 'pending', delivered: 'delivered', dead: 'dead' } as const;
const REASONS = { exhausted: 'exhausted', rejected: 'rejected', expired: 'expired' } as const;

/**
 * Operations on the outbox over HTTP: what an admin endpoint of a real service would offer
 * (behind real authentication; the sample's guard is a demo). `POST` bodies are filters as
 * `OutboxAdmin` takes them: `{ ids?, topic?, key?, reason?, olderThanMs?, all? }`; an empty one is
 * refused with 400 (`EmptyOutboxFilterError`).
 */
@Controller('admin/outbox')
export class OutboxAdminController {
  constructor(private readonly outbox: OutboxAdmin) {}

  /** Counts per status and this process's counters. */
  @Get()
  stats(): Promise<OutboxStats> {
    return this.outbox.stats();
  }

  /** `?status=pending|delivered|dead&topic=...&key=...&reason=...&olderThanMs=...&limit=...` */
  @Get('messages')
  list(
    @Query('status', new ParseEnumPipe(STATUSES, { optional: true })) status: OutboxStatus | undefined,
    @Query('reason', new ParseEnumPipe(REASONS, { optional: true })) reason: DeadReason | undefined,
    @Query('olderThanMs', new ParseIntPipe({ optional: true })) olderThanMs: number | undefined,
    @Query('limit', new ParseIntPipe({ optional: true })) limit: number | undefined,
    @Query('topic') topic?: string,
    @Query('key') key?: string,
  ): Promise<OutboxEntry[]> {
    return this.outbox.list(
      { status: status ?? 'pending', topic, key, reason, olderThanMs: olderThanMs ?? 0 },
      limit ?? 100,
    );
  }

  /** One message with its attempt history; 404 when there is none with that id. */
  @Get('messages/:id')
  async show(@Param('id') id: string): Promise<OutboxEntry> {
    const entry = await this.outbox.show(id);
    if (entry === undefined) throw new NotFoundException(`No message ${id} in the outbox`);
    return entry;
  }

  /** Makes dead messages pending again, in their original place among their key's messages. */
  @Post('requeue')
  async requeue(@Body() body: OutboxRequeueFilter = {}): Promise<{ requeued: number }> {
    return { requeued: await this.outbox.requeue(body) };
  }

  /** Deletes delivered and/or dead messages (`status`), never pending ones. */
  @Post('purge')
  async purge(@Body() body: OutboxPurgeFilter = {}): Promise<{ purged: number }> {
    return { purged: await this.outbox.purge(body) };
  }
}
