import type { INestApplication } from '@nestjs/common';
import inject, { type DispatchFunc, type InjectOptions } from 'light-my-request';
import type { HttpPlatform } from '../sample-app/http-platform.js';

/** What one in-process measurement prints for the runner (`RESULT <json>`). */
export interface InProcessResult {
  /** Requests completed per second of wall time. */
  readonly rate: number;
  /** This process's CPU time (user + system) per request, in microseconds, the dispatcher's work included. */
  readonly cpuPerRequest: number;
}

const REQUEST: InjectOptions = {
  method: 'POST',
  url: '/items',
  headers: { 'content-type': 'application/json' },
  payload: JSON.stringify({ name: 'bench' }),
};

type Send = () => Promise<number>;

/**
 * Requests through the platform's own router without a socket: Fastify's `inject()`, and
 * light-my-request (what Fastify's `inject()` is built on) for Express's request handler. The
 * whole Nest pipeline runs (body parsing, guards, interceptors, serialisation); the kernel's TCP
 * and HTTP parsing, the same in every variant, does not.
 */
function sender(app: INestApplication, platform: HttpPlatform): Send {
  if (platform === 'fastify') {
    const fastify = app.getHttpAdapter().getInstance() as {
      inject(options: InjectOptions): Promise<{ statusCode: number }>;
    };
    return async () => (await fastify.inject(REQUEST)).statusCode;
  }
  const express = app.getHttpAdapter().getInstance() as DispatchFunc;
  return async () => (await inject(express, REQUEST)).statusCode;
}

/** `total` requests, at most `concurrency` in flight, as autocannon's connections would. */
async function drive(send: Send, total: number, concurrency: number): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      const status = await send();
      if (status !== 201) throw new Error(`POST /items answered ${status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Waits (up to 30 s) until `settled` says the outbox has no pending message, so the dispatcher's
 * work for the measured requests is in the measurement.
 */
async function waitFor(settled: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await settled())) {
    if (Date.now() > deadline) throw new Error('the outbox still had pending messages after 30 s');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Measures `app` (initialised, not listening) under `requests` requests in this process, after a
 * warm-up of a fifth as many: CPU per request from `process.cpuUsage()` and the rate from the wall
 * clock. On a core of its own, this is free of the scheduler and socket noise of the HTTP figures.
 * `settled` reports whether the outbox has drained (always true without the module).
 */
export async function measureInProcess(
  app: INestApplication,
  platform: HttpPlatform,
  requests: number,
  concurrency: number,
  settled: () => Promise<boolean>,
): Promise<InProcessResult> {
  const send = sender(app, platform);
  await drive(send, Math.ceil(requests / 5), concurrency);
  await waitFor(settled);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await drive(send, requests, concurrency);
  await waitFor(settled);
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  return { rate: requests / elapsedSeconds, cpuPerRequest: (user + system) / requests };
}
