import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { MessagingHealthIndicator } from 'nestjs-messaging/terminus';

/** `GET /health`: 200 while messaging is healthy, 503 with the reasons (`problems`) when not. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly messaging: MessagingHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    // The default thresholds: see the README's "Health check" section.
    return this.health.check([() => this.messaging.check('messaging')]);
  }
}
