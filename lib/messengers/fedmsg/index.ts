// `nestjs-messaging/fedmsg`: the fedmsg messenger over ZeroMQ (needs the optional peer `zeromq`).
export { FedmsgMessenger } from './fedmsg.messenger.js';
export type { FedmsgStats } from './fedmsg-state.js';
export type { FedmsgMessengerOptions, FedmsgSigningOptions } from './fedmsg-options.interface.js';
export type { FedmsgEnvelope } from './fedmsg-envelope.js';
export { verifyFedmsgSignature, type FedmsgVerification } from './fedmsg-signature.js';
