import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MessagingHealthModule } from 'nestjs-messaging/terminus';
import { HealthController } from './health.controller.js';

/** The health endpoint, with Terminus and the messaging indicator (MessagingModule is global). */
@Module({
  imports: [TerminusModule, MessagingHealthModule],
  controllers: [HealthController],
})
export class HealthModule {}
