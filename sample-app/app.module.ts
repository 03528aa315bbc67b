import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { MessagingModule } from 'nestjs-messaging';
import { OutboxAdminController } from './admin/outbox-admin.controller.js';
import { DemoAuthGuard } from './auth/demo-auth.guard.js';
import { ComposesModule } from './composes/composes.module.js';
import { HealthModule } from './health/health.module.js';
import { messagingOptionsFromEnv } from './messaging.config.js';
import { ReleasesModule } from './releases/releases.module.js';
import { SampleTelemetryModule } from './telemetry/sample-telemetry.module.js';

/** The sample PDC-like API: releases and composes, announced on the configured bus. */
@Module({
  imports: [
    MessagingModule.forRootAsync({ useFactory: () => messagingOptionsFromEnv() }),
    ReleasesModule,
    ComposesModule,
    HealthModule,
    // OTEL_TRACES_EXPORTER=console, OTEL_METRICS_EXPORTER=prometheus (GET /metrics).
    SampleTelemetryModule.fromEnv(),
  ],
  controllers: [OutboxAdminController],
  providers: [{ provide: APP_GUARD, useClass: DemoAuthGuard }],
})
export class AppModule {}
