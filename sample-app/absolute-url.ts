/** The request fields both Express and Fastify expose. */
export interface UrlSource {
  readonly protocol: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Absolute URL of `path` on the host the client addressed, as PDC puts in messages. */
export function absoluteUrl(request: UrlSource, path: string): string {
  const host = request.headers.host;
  return `${request.protocol}://${typeof host === 'string' ? host : 'localhost'}${path}`;
}
