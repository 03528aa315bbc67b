// `nestjs-messaging/terminus`: a health indicator for @nestjs/terminus (optional peer, 11 or 12).
// Only this entry loads @nestjs/terminus: the root entry never imports it.
export { MessagingHealthIndicator } from './messaging-health.indicator.js';
export { MessagingHealthModule } from './messaging-health.module.js';
export type { MessagingHealthDetails } from './health.assessment.js';
export {
  DEFAULT_HEALTH_THRESHOLDS,
  type MessagingHealthThresholds,
  type ResolvedHealthThresholds,
} from './health.thresholds.js';
