import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { HTTP_PLATFORMS, type HttpPlatform } from '../sample-app/http-platform.js';
import { runAmqpBenchmark } from './amqp-bench.js';
import { runFedmsgBenchmark } from './fedmsg-bench.js';
import { runFedoraMessagingBenchmark } from './fedora-messaging-bench.js';
import { runDrainBenchmark, runLatencyBenchmark } from './outbox-bench.js';
import { runTransactionalBenchmark } from './transactional-bench.js';
import { runWritersBenchmark } from './writers-bench.js';
import { measureServerInProcess, pinLoadGenerator, startServer } from './bench-server.js';
import { runMemoryBenchmark } from './memory-bench.js';
import type { HttpVariant } from './http-bench.app.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IN_PROCESS_REQUESTS = Number(process.env.BENCH_IN_PROCESS_REQUESTS ?? 50_000);

interface Case {
  readonly label: string;
  readonly variant: HttpVariant;
}

/**
 * The rows of issue 19's table; ratios and CPU differences are to the floor (the third row). Two
 * rows split one message's cost: creating it alone (the floor plus `createMessage()`), and the
 * request side's whole path with an outbox that keeps nothing (no store, no send).
 */
const CASES: readonly Case[] = [
  { label: 'bare NestJS', variant: 'bare' },
  { label: 'empty global interceptor', variant: 'interceptor' },
  { label: 'floor: + ClsService.run', variant: 'floor' },
  { label: 'floor + createMessage()', variant: 'floor-create' },
  { label: 'module, 0 messages', variant: 'zero-messages' },
  { label: '1 msg, outbox keeps none', variant: 'one-message-discard' },
  { label: '1 msg, memory, no-op', variant: 'one-message' },
  { label: '1 msg, SQLite normal', variant: 'one-message-sqlite-normal' },
  ...(process.env.BENCH_SQLITE_FULL === '1'
    ? [{ label: '1 msg, SQLite full', variant: 'one-message-sqlite' } as const]
    : []),
];

/**
 * One message per request, without `MessagingTelemetryModule` (tracing off: the figures of the
 * HTTP overhead above), with it and no SDK registered, and with an SDK whose exporters drop
 * everything (a create span per message, a send span per batch, the counters).
 */
const TELEMETRY_CASES: readonly Case[] = [
  { label: 'bare NestJS', variant: 'bare' },
  { label: '1 msg, no telemetry', variant: 'one-message' },
  { label: '1 msg, module, no SDK', variant: 'one-message-telemetry-no-sdk' },
  { label: '1 msg, module + SDK', variant: 'one-message-telemetry-sdk' },
];

interface Measurement {
  readonly rate: number;
  /** Server CPU time (user + system) per request, in microseconds: steadier than req/s on a shared machine. */
  readonly cpuPerRequest: number;
}

async function load(url: string, seconds: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url: `${url}/items`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${result.non2xx} non-2xx responses and ${result.errors} errors at ${url}`);
  }
  return result;
}

/** utime + stime of a process, in microseconds (Linux /proc; clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
}

type Measure = (platform: HttpPlatform, benchCase: Case) => Promise<Measurement>;

/** One variant under autocannon over real sockets, the server in its own process. */
async function measure(platform: HttpPlatform, benchCase: Case): Promise<Measurement> {
  const { child, url } = await startServer(platform, benchCase.variant, {}, serverCore);
  try {
    await load(url, 1); // warm-up: JIT, connection pools
    const pid = child.pid ?? 0;
    const before = cpuMicros(pid);
    const result = await load(url, SECONDS);
    return { rate: result.requests.average, cpuPerRequest: (cpuMicros(pid) - before) / result.requests.total };
  } finally {
    // SIGTERM with BENCH_CPU_PROF: the profile is written on a normal exit only.
    child.kill(process.env.BENCH_CPU_PROF === undefined ? 'SIGKILL' : 'SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** One variant in its own process, driven there without sockets (in-process-load.ts). */
const measureInProcess: Measure = (platform, benchCase) =>
  measureServerInProcess(platform, benchCase.variant, IN_PROCESS_REQUESTS, serverCore);

/** Whether `name` is in the comma-separated `list` (all when unset): BENCH_PLATFORMS, BENCH_VARIANTS. */
const chosen = (list: string | undefined, name: string): boolean =>
  list === undefined || list.split(',').some((item) => item.trim() === name);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

// BENCH_ONLY: "http", "in-process", "telemetry", "telemetry-in-process", "fedmsg", "amqp", "fedora-messaging", "latency",
// "drain", "transactional", "writers" or "memory", or several of them comma-separated, to run only those parts
// ("memory" runs only when named).
const parts = process.env.BENCH_ONLY?.split(',').map((part) => part.trim());
const runs = (part: string): boolean => (parts === undefined ? part !== 'memory' : parts.includes(part));

// Every figure depends on the runtime (AsyncLocalStorage costs differ a lot between majors): say which one.
console.log(`Node.js ${process.version} (${process.execPath}), ${process.platform}-${process.arch}`);
// The load generator (autocannon, in this process) on one core, the server on another, where taskset allows.
const serverCore = pinLoadGenerator();
console.log(
  serverCore === undefined
    ? 'taskset unavailable or one core: load generator and server not pinned\n'
    : `load generator pinned to the last core, servers to core ${String(serverCore)}\n`,
);

if (runs('http')) await runHttpBenchmark('HTTP overhead', CASES, measure);
// The same rows without sockets or a second process on the machine: far steadier than over HTTP.
if (runs('in-process')) await runHttpBenchmark('Request path in process', CASES, measureInProcess);
if (runs('telemetry')) await runHttpBenchmark('OpenTelemetry overhead', TELEMETRY_CASES, measure);
if (runs('telemetry-in-process'))
  await runHttpBenchmark('OpenTelemetry overhead in process', TELEMETRY_CASES, measureInProcess);
if (runs('fedmsg')) await runFedmsgBenchmark();
if (runs('amqp')) await runAmqpBenchmark();
if (runs('fedora-messaging')) await runFedoraMessagingBenchmark();
if (runs('latency')) await runLatencyBenchmark();
if (runs('drain')) await runDrainBenchmark();
if (runs('transactional')) await runTransactionalBenchmark();
if (runs('writers')) await runWritersBenchmark();
if (runs('memory')) await runMemoryBenchmark(serverCore);

async function runHttpBenchmark(title: string, cases: readonly Case[], measureOne: Measure): Promise<void> {
  const load =
    measureOne === measure
      ? `${CONNECTIONS} connections, ${SECONDS} s per measurement`
      : `inject(), 50 in flight, ${IN_PROCESS_REQUESTS} requests per measurement`;
  console.log(`\n${title}: POST /items, ${load}, ${ROUNDS} round(s); medians, differences paired by round`);
  for (const platform of HTTP_PLATFORMS.filter((name) => chosen(process.env.BENCH_PLATFORMS, name))) {
    const samples = new Map<string, Measurement[]>(cases.map((benchCase) => [benchCase.label, []]));
    // Interleaved rounds: machine drift hits every variant alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const benchCase of cases) {
        if (chosen(process.env.BENCH_VARIANTS, benchCase.variant))
          samples.get(benchCase.label)?.push(await measureOne(platform, benchCase));
      }
    }
    const of = (label: string): readonly Measurement[] => samples.get(label) ?? [];
    // The floor when the table has one, else its first row.
    const reference = cases.find(({ variant }) => variant === 'floor') ?? cases[0];
    const base = of(reference.label);
    console.log(`\n${platform}, Node.js ${process.version}; ratio and CPU difference to: ${reference.label}`);
    console.log(
      `  ${'variant'.padEnd(26)} ${'req/s'.padStart(7)}  ratio  ${'CPU µs/req'.padStart(10)}  difference  range`,
    );
    for (const { label, variant } of cases) {
      if (!chosen(process.env.BENCH_VARIANTS, variant)) continue;
      // Each round's figure against the reference's in the same round, then the median: the
      // machine's drift between rounds cancels out. The range is that of the per-round
      // differences: a difference inside it is noise.
      const ratios = of(label).map(({ rate }, round) => rate / (base[round]?.rate ?? Number.NaN));
      const differences = of(label).map(
        ({ cpuPerRequest }, round) => cpuPerRequest - (base[round]?.cpuPerRequest ?? Number.NaN),
      );
      const difference = median(differences);
      const rate = median(of(label).map(({ rate: value }) => value));
      const cpu = median(of(label).map(({ cpuPerRequest }) => cpuPerRequest));
      const signed = `${difference >= 0 ? '+' : ''}${difference.toFixed(1)}`;
      const range = `${Math.min(...differences).toFixed(1)} to ${Math.max(...differences).toFixed(1)}`;
      console.log(
        `  ${label.padEnd(26)} ${rate.toFixed(0).padStart(7)}  ${median(ratios).toFixed(2)}   ` +
          `${cpu.toFixed(1).padStart(10)}  ${signed.padStart(10)}  ${range}`,
      );
    }
  }
}
