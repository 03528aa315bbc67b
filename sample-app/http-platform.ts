import type { AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/** The HTTP platforms the sample app (and the test suite) run on. */
export const HTTP_PLATFORMS = ['express', 'fastify'] as const;
export type HttpPlatform = (typeof HTTP_PLATFORMS)[number];

/** A fresh adapter for `platform`. */
export function httpAdapterFor(platform: HttpPlatform): AbstractHttpAdapter {
  return platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
}

/** Reads `HTTP_PLATFORM` (default `express`), failing clearly on anything else. */
export function httpPlatformFromEnv(env: NodeJS.ProcessEnv = process.env): HttpPlatform {
  const platform = (env.HTTP_PLATFORM ?? 'express').trim().toLowerCase();
  if (!(HTTP_PLATFORMS as readonly string[]).includes(platform)) {
    throw new Error(`HTTP_PLATFORM: unknown platform "${platform}"; expected one of ${HTTP_PLATFORMS.join(', ')}`);
  }
  return platform as HttpPlatform;
}
