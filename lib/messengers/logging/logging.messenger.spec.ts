import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createMessage } from '../../kernel/message.factory.js';
import { LoggingMessenger } from './logging.messenger.js';

describe('LoggingMessenger', () => {
  afterEach(() => jest.restoreAllMocks());

  it('logs each message at debug level as pretty JSON with sorted keys', async () => {
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    const first = createMessage('.b', { zeta: 1, alpha: { y: 2, x: [{ d: 1, c: 2 }] } });
    const second = createMessage('.a', {});
    await new LoggingMessenger().send([first, second]);
    expect(debug).toHaveBeenCalledTimes(2);
    const logged = debug.mock.calls[0][0] as string;
    expect(logged.startsWith('Message on .b:\n')).toBe(true);
    const json = logged.slice('Message on .b:\n'.length);
    expect(json).toBe(
      JSON.stringify(
        {
          body: { alpha: { x: [{ c: 2, d: 1 }], y: 2 }, zeta: 1 },
          headers: {},
          id: first.id,
          key: '.b',
          timestamp: first.timestamp,
          topic: '.b',
        },
        null,
        2,
      ),
    );
  });
});
