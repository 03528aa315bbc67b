import { MessagingError } from '../kernel/messaging.errors.js';
import type { SqlStatement } from '../kernel/outbox-store.interface.js';

type SqlTag = (strings: TemplateStringsArray, ...params: unknown[]) => unknown;

let loading: Promise<SqlTag> | undefined;

/**
 * The statement as Drizzle's `sql` template would build it, the values bound as parameters: Drizzle
 * renders them in its dialect's style (`$n` for PostgreSQL, `?` for MySQL). Loads `drizzle-orm` (an
 * optional peer) at the first call.
 */
export async function drizzleSql({ text, values, placeholders = 'dollar' }: SqlStatement): Promise<unknown> {
  loading ??= import('drizzle-orm').then(
    (module) => (module as unknown as { sql: SqlTag }).sql,
    (error: unknown) => {
      loading = undefined;
      throw new MessagingError(
        `The Drizzle outbox writer needs the "drizzle-orm" package: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  );
  const sql = await loading;
  // Each parameter is marked once, in order: the text splits into the template's literal parts.
  const parts = text.split(placeholders === 'dollar' ? /\$\d+/ : /\?/);
  const strings = Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray;
  return sql(strings, ...values);
}
