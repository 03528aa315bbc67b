import { DatabaseClock } from '../database-clock.js';

/** This process's clock translated into PostgreSQL's (`clock_timestamp()`); see `DatabaseClock`. */
export class PostgresClock extends DatabaseClock {
  /** @param query - runs a statement on the pool (`purpose` names it in errors). */
  constructor(query: (purpose: string, text: string) => Promise<{ rows: { now: number }[] }>) {
    super(async () => {
      const { rows } = await query(
        'measuring the clock',
        'SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS now',
      );
      return rows[0]?.now;
    });
  }
}
