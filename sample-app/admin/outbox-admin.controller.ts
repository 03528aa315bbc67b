import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { OutboxAdmin, type OutboxEntry, type OutboxStats, type OutboxStatus } from 'nestjs-messaging';

/** Operations on the outbox over HTTP: what an admin endpoint of a real service would offer. */
@Controller('admin/outbox')
export class OutboxAdminController {
  constructor(private readonly outbox: OutboxAdmin) {}

  /** Counts per status and this process's counters. */
  @Get()
  stats(): Promise<OutboxStats> {
    return this.outbox.stats();
  }

  /** `?status=pending|delivered|dead&topic=...&limit=...` */
  @Get('messages')
  list(
    @Query('status') status: OutboxStatus = 'pending',
    @Query('topic') topic?: string,
    @Query('limit') limit = '100',
  ): Promise<OutboxEntry[]> {
    return this.outbox.list({ status, ...(topic === undefined ? {} : { topic }) }, Number(limit));
  }

  /** Retries dead messages: `{ ids?: string[], topic?: string }`; all of them without a filter. */
  @Post('retry')
  async retry(@Body() body: { ids?: string[]; topic?: string } = {}): Promise<{ retried: number }> {
    return { retried: await this.outbox.retry(body) };
  }
}
