/** The one ISO 8601 date-time parser behind mutation inputs, `updatedSince` and `export --since`. */
import { parseInstant } from '../src/shared/instant';

test('parseInstant answers the canonical UTC string, or null for text that is no ISO date-time', () => {
  expect(parseInstant('2026-01-31T01:00:00+01:00')).toBe('2026-01-31T00:00:00.000Z');
  expect(parseInstant('2026-01-31 00:00:00Z')).toBe('2026-01-31T00:00:00.000Z');
  for (const text of ['Jan 31 2026', '2026-01-31', '2026-13-01T00:00:00Z', 'yesterday', '']) expect(parseInstant(text)).toBeNull();
});
