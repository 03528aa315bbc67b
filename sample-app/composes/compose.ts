import { BadRequestException } from '@nestjs/common';

/** A compose: one build of a release's content (trimmed PDC model). */
export interface Compose {
  readonly compose_id: string;
  readonly release: string;
  readonly compose_date: string;
  readonly compose_type: ComposeType;
  readonly compose_respin: number;
  readonly rpms: readonly string[];
}

const COMPOSE_TYPES = { production: '', test: '.t', nightly: '.n', ci: '.ci' } as const;
type ComposeType = keyof typeof COMPOSE_TYPES;

/** Validates a create request; the id follows productmd: `<release>-<date><type>.<respin>`. */
export function parseNewCompose(input: unknown): Compose {
  const body = asRecord(input);
  const release = body.release;
  const date = body.compose_date;
  const type = body.compose_type ?? 'production';
  const respin = body.compose_respin ?? 0;
  if (typeof release !== 'string' || release.length === 0) throw new BadRequestException('release is required');
  if (typeof date !== 'string' || !/^\d{8}$/.test(date)) throw new BadRequestException('compose_date must be YYYYMMDD');
  if (typeof type !== 'string' || !(type in COMPOSE_TYPES)) {
    throw new BadRequestException(`compose_type must be one of ${Object.keys(COMPOSE_TYPES).join(', ')}`);
  }
  if (typeof respin !== 'number' || !Number.isInteger(respin) || respin < 0) {
    throw new BadRequestException('compose_respin must be a non-negative integer');
  }
  const composeType = type as ComposeType;
  return {
    compose_id: `${release}-${date}${COMPOSE_TYPES[composeType]}.${respin}`,
    release,
    compose_date: date,
    compose_type: composeType,
    compose_respin: respin,
    rpms: [],
  };
}

/** Validates an RPM import: `{ "rpms": ["bash-5.2-1.fc40.x86_64", ...] }`. */
export function parseRpmImport(input: unknown): string[] {
  const rpms = asRecord(input).rpms;
  if (!Array.isArray(rpms) || rpms.some((rpm) => typeof rpm !== 'string' || rpm.length === 0)) {
    throw new BadRequestException('rpms must be a list of non-empty strings');
  }
  return rpms as string[];
}

function asRecord(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new BadRequestException('Expected a JSON object');
  }
  return input as Record<string, unknown>;
}
