// A minimal AMQP 1.0 peer for the latency benchmark: accepts every message
// after SETTLE_DELAY_MS. It runs in its own process so neither the server
// nor the load generator pays for it.
import type { AddressInfo } from 'node:net';
import rhea, { type EventContext } from 'rhea';

const delayMs = Number(process.env.SETTLE_DELAY_MS ?? 0);
const container = rhea.create_container({ id: 'delaying-broker', autoaccept: false });
container.on('receiver_open', (context: EventContext) => {
  const { receiver } = context;
  if (receiver === undefined) return;
  const target = (receiver as unknown as { remote: { attach?: { target?: { address?: string } } } }).remote.attach
    ?.target;
  receiver.set_target({ address: target?.address ?? '' });
});
container.on('message', (context: EventContext) => {
  const { delivery } = context;
  if (delivery === undefined) return;
  if (delayMs === 0) delivery.accept();
  else
    setTimeout(() => {
      delivery.accept();
    }, delayMs);
});
const server = container.listen({ port: 0, host: '127.0.0.1' });
server.once('listening', () => {
  process.stdout.write(`READY amqp://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
