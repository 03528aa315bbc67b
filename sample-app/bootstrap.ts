import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { httpAdapterFor, httpPlatformFromEnv } from './http-platform.js';

/** Starts the sample API on `PORT` (default 3000), on `HTTP_PLATFORM` (default express). */
export async function bootstrap(): Promise<void> {
  const platform = httpPlatformFromEnv();
  const app = await NestFactory.create(AppModule, httpAdapterFor(platform));
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  new Logger('SampleApp').log(
    `Sample PDC API (${platform}, Node.js ${process.version}) listening on ${await app.getUrl()}`,
  );
}
