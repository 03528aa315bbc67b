import { BadRequestException } from '@nestjs/common';

/** A product release, as PDC models it (trimmed). */
export interface Release {
  readonly release_id: string;
  readonly short: string;
  readonly version: string;
  readonly name: string;
  readonly release_type: string;
  readonly active: boolean;
}

/** Fields a client may change with PATCH. */
export type ReleaseChanges = Partial<Pick<Release, 'name' | 'release_type' | 'active'>>;

/** Validates a create request; `release_id` is derived as PDC does: `<short>-<version>`. */
export function parseNewRelease(input: unknown): Release {
  const body = asRecord(input);
  const short = requireString(body, 'short');
  const version = requireString(body, 'version');
  return {
    release_id: `${short}-${version}`,
    short,
    version,
    name: requireString(body, 'name'),
    release_type: optionalString(body, 'release_type') ?? 'ga',
    active: optionalBoolean(body, 'active') ?? true,
  };
}

/** Validates a PATCH request. */
export function parseReleaseChanges(input: unknown): ReleaseChanges {
  const body = asRecord(input);
  const unknownFields = Object.keys(body).filter((key) => !['name', 'release_type', 'active'].includes(key));
  if (unknownFields.length > 0) throw new BadRequestException(`Cannot change: ${unknownFields.join(', ')}`);
  const changes: { -readonly [K in keyof ReleaseChanges]: ReleaseChanges[K] } = {};
  const name = optionalString(body, 'name');
  const releaseType = optionalString(body, 'release_type');
  const active = optionalBoolean(body, 'active');
  if (name !== undefined) changes.name = name;
  if (releaseType !== undefined) changes.release_type = releaseType;
  if (active !== undefined) changes.active = active;
  return changes;
}

function asRecord(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new BadRequestException('Expected a JSON object');
  }
  return input as Record<string, unknown>;
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value.length === 0) throw new BadRequestException(`${field} is required`);
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequestException(`${field} must be a string`);
  return value;
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new BadRequestException(`${field} must be a boolean`);
  return value;
}
