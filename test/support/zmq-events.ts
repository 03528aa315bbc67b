import type { EventType, Socket } from 'zeromq';

/**
 * Resolves with the next socket event of `type`. Call it before connect()
 * or bind(), so the monitor exists when the event happens. Reads with
 * receive() rather than events.on(): zeromq.js's emitter mode breaks once
 * Jest has torn down the module registry that first used it.
 */
export async function nextEvent(socket: Socket, type: EventType): Promise<void> {
  for (;;) {
    const event = await socket.events.receive();
    if (event.type === type) return;
  }
}
