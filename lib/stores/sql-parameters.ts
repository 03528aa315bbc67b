/**
 * A query's parameters, collected while its text is built: `bind()` stores a
 * value and returns its placeholder, so the text and the values cannot go out
 * of step.
 */
export class SqlParameters {
  /** The bound values, in the order they were bound. */
  readonly values: unknown[] = [];

  /** @param placeholder - the placeholder of the `index`-th value (from 1): `$1` for pg, `@p1` for better-sqlite3. */
  constructor(private readonly placeholder: (index: number) => string) {}

  /** Binds `value`; returns its placeholder. */
  bind(value: unknown): string {
    return this.placeholder(this.values.push(value));
  }
}
