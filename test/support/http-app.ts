import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { httpAdapterFor, type HttpPlatform } from '../../sample-app/http-platform.js';

/** A running Nest app on an ephemeral port, and what the tests read from it. */
export interface RunningApp {
  readonly app: INestApplication;
  readonly url: string;
  readonly logs: RecordingLogger;
  request(method: string, path: string, init?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface TestResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Keeps every log line so tests can assert on what was logged. */
export class RecordingLogger implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(...parts: unknown[]): void {
    this.record('log', parts);
  }
  error(...parts: unknown[]): void {
    this.record('error', parts);
  }
  warn(...parts: unknown[]): void {
    this.record('warn', parts);
  }
  debug(...parts: unknown[]): void {
    this.record('debug', parts);
  }
  verbose(...parts: unknown[]): void {
    this.record('verbose', parts);
  }
  fatal(...parts: unknown[]): void {
    this.record('fatal', parts);
  }
  linesAt(level: string): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.message);
  }
  private record(level: string, parts: unknown[]): void {
    const text = parts.map((part) =>
      part instanceof Error
        ? (part.stack ?? `${part.name}: ${part.message}`)
        : typeof part === 'string'
          ? part
          : JSON.stringify(part),
    );
    this.lines.push({ level, message: text.join(' ') });
  }
}

/** Compiles `metadata` into an app on `platform`, listening on 127.0.0.1:0. */
export async function startApp(
  platform: HttpPlatform,
  metadata: ModuleMetadata,
  override?: (builder: ReturnType<typeof Test.createTestingModule>) => ReturnType<typeof Test.createTestingModule>,
): Promise<RunningApp> {
  const builder = Test.createTestingModule(metadata);
  const moduleRef = await (override ? override(builder) : builder).compile();
  const logs = new RecordingLogger();
  const app = moduleRef.createNestApplication(httpAdapterFor(platform), { logger: logs });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    logs,
    request: (method, path, init = {}) => request(url, method, path, init),
    close: () => app.close(),
  };
}

/** One real HTTP request; JSON in, JSON (or text) out. */
export async function request(
  base: string,
  method: string,
  path: string,
  init: RequestOptions = {},
): Promise<TestResponse> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body };
}
