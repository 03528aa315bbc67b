/**
 * Why the server that answered `SELECT VERSION()` cannot hold the outbox, or `undefined` when it
 * can: claims need `FOR UPDATE SKIP LOCKED` and `JSON_TABLE` (MySQL 8.0, MariaDB 10.6).
 * @param version - as `VERSION()` returns it: `8.0.36`, `10.11.6-MariaDB-0+deb12u1`.
 */
export function unsupportedMysqlServer(version: string): string | undefined {
  const match = /^(\d+)\.(\d+)/.exec(version);
  const major = Number(match?.[1] ?? 0);
  const minor = Number(match?.[2] ?? 0);
  if (/mariadb/i.test(version)) {
    if (major > 10 || (major === 10 && minor >= 6)) return undefined;
    return `MariaDB ${version} is too old: MysqlOutboxStore needs MariaDB 10.6 or later (FOR UPDATE SKIP LOCKED, JSON_TABLE)`;
  }
  if (major >= 8) return undefined;
  return `MySQL ${version} is too old: MysqlOutboxStore needs MySQL 8.0 or later (FOR UPDATE SKIP LOCKED, JSON_TABLE)`;
}
