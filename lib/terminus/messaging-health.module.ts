import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MessagingHealthIndicator } from './messaging-health.indicator.js';

/**
 * Provides `MessagingHealthIndicator` (with Terminus's `HealthIndicatorService`) to the module
 * that imports it. Needs `MessagingModule` registered globally (its default, `isGlobal: true`).
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [TerminusModule, MessagingHealthModule],
 *   controllers: [HealthController],
 * })
 * export class HealthModule {}
 * ```
 */
@Module({
  imports: [TerminusModule],
  providers: [MessagingHealthIndicator],
  exports: [MessagingHealthIndicator],
})
export class MessagingHealthModule {}
