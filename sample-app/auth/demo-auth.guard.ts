import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';

/** The user a request acts as, read by the messaging module's default enricher. */
export interface DemoUser {
  readonly username: string;
}

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * DEMO ONLY, never for production: trusts `Authorization: Bearer <username>`
 * and marks the request as that user, so messages carry an `author`.
 * Anonymous requests are let through with no user.
 */
@Injectable()
export class DemoAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; user?: DemoUser }>();
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (match) request.user = { username: match[1] };
    return true;
  }
}
