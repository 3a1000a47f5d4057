import { describe, expect, it } from 'vitest';
import { validateBatch } from '../src/service/ingest.js';
import { checkMeasurement, OBSERVATION_TYPE_NAMES, OBSERVATION_TYPES, unitOf } from '../src/service/observation-types.js';

describe('observation type table', () => {
  it('lists every type with its unit and range', () => {
    expect(Object.fromEntries(OBSERVATION_TYPE_NAMES.map((t) => [t, [unitOf(t), OBSERVATION_TYPES[t].value.min, OBSERVATION_TYPES[t].value.max]]))).toEqual({
      HEART_RATE: ['bpm', 20, 250],
      BLOOD_PRESSURE: ['mmHg', 50, 260],
      SLEEP: ['min', 0, 1440],
      STEPS: ['steps', 0, 100_000],
      WEIGHT: ['kg', 2, 400],
      BLOOD_GLUCOSE: ['mmol/L', 1, 35],
      BODY_TEMPERATURE: ['°C', 30, 45],
    });
    expect(OBSERVATION_TYPES.BLOOD_PRESSURE.diastolic).toEqual({ min: 30, max: 160 });
  });

  it('matches the GraphQL enum, in order', async () => {
    const { readFileSync } = await import('node:fs');
    const sdl = readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8');
    const body = /enum ObservationType \{([\s\S]*?)\n\}/.exec(sdl)?.[1] ?? '';
    const values = body.replace(/"""[\s\S]*?"""/g, '').split(/\s+/).filter(Boolean);
    expect(values).toEqual(OBSERVATION_TYPE_NAMES);
  });
});

describe('checkMeasurement', () => {
  const single = OBSERVATION_TYPE_NAMES.filter((t) => t !== 'BLOOD_PRESSURE');

  it.each(single)('%s accepts both bounds and refuses just outside them', (type) => {
    const { min, max } = OBSERVATION_TYPES[type].value;
    expect(checkMeasurement(type, min, null)).toBeUndefined();
    expect(checkMeasurement(type, max, undefined)).toBeUndefined();
    const below = checkMeasurement(type, min - 0.5, null);
    expect(below?.field).toBe('value');
    expect(below?.message).toBe(`value must be ${min}–${max} ${unitOf(type)}; received ${min - 0.5}`);
    expect(checkMeasurement(type, max + 0.5, null)?.message).toContain(`received ${max + 0.5}`);
  });

  it.each(single)('%s refuses a diastolic value', (type) => {
    const { min } = OBSERVATION_TYPES[type].value;
    expect(checkMeasurement(type, min, 70)).toEqual({ field: 'diastolic', message: 'diastolic is accepted only for BLOOD_PRESSURE; received 70' });
  });

  it('blood pressure needs a diastolic in range and below the systolic', () => {
    expect(checkMeasurement('BLOOD_PRESSURE', 120, 80)).toBeUndefined();
    expect(checkMeasurement('BLOOD_PRESSURE', 50, 30)).toBeUndefined();
    expect(checkMeasurement('BLOOD_PRESSURE', 260, 160)).toBeUndefined();
    expect(checkMeasurement('BLOOD_PRESSURE', 120, null)?.message).toBe('diastolic is required for BLOOD_PRESSURE (30–160 mmHg); received null');
    expect(checkMeasurement('BLOOD_PRESSURE', 261, 80)).toEqual({ field: 'value', message: 'value (systolic) must be 50–260 mmHg; received 261' });
    expect(checkMeasurement('BLOOD_PRESSURE', 120, 29)?.message).toBe('diastolic must be 30–160 mmHg; received 29');
    expect(checkMeasurement('BLOOD_PRESSURE', 250, 161)?.field).toBe('diastolic');
    expect(checkMeasurement('BLOOD_PRESSURE', 90, 90)?.message).toBe('diastolic must be below the systolic value 90 mmHg; received 90');
  });

  it('steps are whole numbers; unknown types and non-finite values are refused', () => {
    expect(checkMeasurement('STEPS', 10.5, null)?.message).toContain('whole number');
    expect(checkMeasurement('MOOD', 3, null)?.field).toBe('type');
    expect(checkMeasurement('WEIGHT', Number.NaN, null)?.field).toBe('value');
  });
});

describe('validateBatch', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  const item = (overrides: Record<string, unknown> = {}) => ({ externalId: 'a', type: 'WEIGHT', value: 70, recordedAt: now, ...overrides });

  it('normalises valid items', () => {
    expect(validateBatch('u', [item({ source: '  scale  ' }), item({ externalId: 'b', source: '   ' })], now)).toEqual([
      { userId: 'u', externalId: 'a', type: 'WEIGHT', value: 70, diastolic: null, recordedAt: now, source: 'scale' },
      { userId: 'u', externalId: 'b', type: 'WEIGHT', value: 70, diastolic: null, recordedAt: now, source: null },
    ]);
  });

  it('accepts recordedAt up to 5 minutes ahead and from the start of the month 24 months back (the defaults)', () => {
    expect(() => validateBatch('u', [item({ recordedAt: new Date(now.getTime() + 300_000) })], now)).not.toThrow();
    expect(() => validateBatch('u', [item({ recordedAt: '2024-06-01T00:00:00Z' })], now)).not.toThrow();
    expect(() => validateBatch('u', [item({ recordedAt: '2024-05-31T23:59:59.999Z' })], now)).toThrow(
      'Nothing was stored: input[0] (externalId "a", WEIGHT): recordedAt must be from 2024-06-01T00:00:00.000Z (24 months back) to 5 minutes after now (2026-06-01T12:05:00.000Z); received 2024-05-31T23:59:59.999Z',
    );
    expect(() => validateBatch('u', [item({ recordedAt: new Date(now.getTime() + 300_001) })], now)).toThrow(/input\[0\].*recordedAt/);
  });

  it('takes its bounds from the configuration', () => {
    const bounds = { maxAgeMonths: 1, maxFutureMs: 30_000 };
    expect(() => validateBatch('u', [item({ recordedAt: '2026-05-01T00:00:00Z' })], now, bounds)).not.toThrow();
    expect(() => validateBatch('u', [item({ recordedAt: '2026-04-30T23:59:59Z' })], now, bounds)).toThrow(/from 2026-05-01T00:00:00.000Z \(1 months back\)/);
    expect(() => validateBatch('u', [item({ recordedAt: new Date(now.getTime() + 30_001) })], now, bounds)).toThrow(/to 30 seconds after now \(2026-06-01T12:00:30.000Z\)/);
  });

  it('names the item index, externalId, type, range and value received', () => {
    const error = (() => {
      try {
        validateBatch('u', [item(), item({ externalId: 'w-9', value: 401 })], now);
      } catch (e) {
        return e as { message: string; extensions: Record<string, unknown> };
      }
      throw new Error('expected a validation error');
    })();
    expect(error.message).toBe('Nothing was stored: input[1] (externalId "w-9", WEIGHT): value must be 2–400 kg; received 401');
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input[1].value' });
  });

  it('summarises past five problems', () => {
    const input = Array.from({ length: 8 }, (_, i) => item({ externalId: `x${i}`, value: 1000 }));
    expect(() => validateBatch('u', input, now)).toThrow(/^8 of 8 observations are invalid; nothing was stored: .*; and 3 more$/);
  });
});
