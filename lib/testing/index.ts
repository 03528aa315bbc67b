// `nestjs-messaging/testing`: test what an application sends, without a broker.
export { CapturingMessenger } from './capturing.messenger.js';
export { MessagingTestingModule } from './messaging-testing.module.js';
export {
  outboxStoreContract,
  type OutboxStoreContractCase,
  type OutboxStoreContractSubject,
  type OutboxUnderTest,
} from './outbox-store.contract.js';
