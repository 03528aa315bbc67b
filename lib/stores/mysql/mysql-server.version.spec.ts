import { unsupportedMysqlServer } from './mysql-server.version.js';

describe('unsupportedMysqlServer', () => {
  it('accepts MySQL 8 and later, MariaDB 10.6 and later', () => {
    for (const version of [
      '8.0.11',
      '8.4.3',
      '9.1.0',
      '10.6.0-MariaDB',
      '10.11.19-MariaDB-0+deb12u1',
      '11.4.2-MariaDB',
    ])
      expect(unsupportedMysqlServer(version)).toBeUndefined();
  });

  it('refuses MySQL 5.7 and MariaDB before 10.6, naming the version and the need', () => {
    expect(unsupportedMysqlServer('5.7.44-log')).toBe(
      'MySQL 5.7.44-log is too old: MysqlOutboxStore needs MySQL 8.0 or later (FOR UPDATE SKIP LOCKED, JSON_TABLE)',
    );
    expect(unsupportedMysqlServer('10.5.23-MariaDB')).toBe(
      'MariaDB 10.5.23-MariaDB is too old: MysqlOutboxStore needs MariaDB 10.6 or later (FOR UPDATE SKIP LOCKED, JSON_TABLE)',
    );
    expect(unsupportedMysqlServer('unknown')).toContain('too old');
  });
});
