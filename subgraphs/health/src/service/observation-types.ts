/**
 * The observation types: the unit each is recorded in and the range a value
 * must fall in. The one place these numbers live; validation, the `unit` field
 * and the SDL descriptions follow it.
 */
export interface Range {
  min: number;
  max: number;
}

export interface ObservationTypeSpec {
  unit: string;
  value: Range;
  /** Blood pressure only: the diastolic pressure, required and below the systolic `value`. */
  diastolic?: Range;
  /** Counts (steps) are whole numbers. */
  integer?: boolean;
}

export const OBSERVATION_TYPES = {
  HEART_RATE: { unit: 'bpm', value: { min: 20, max: 250 } },
  BLOOD_PRESSURE: { unit: 'mmHg', value: { min: 50, max: 260 }, diastolic: { min: 30, max: 160 } },
  SLEEP: { unit: 'min', value: { min: 0, max: 1440 } },
  STEPS: { unit: 'steps', value: { min: 0, max: 100_000 }, integer: true },
  WEIGHT: { unit: 'kg', value: { min: 2, max: 400 } },
  BLOOD_GLUCOSE: { unit: 'mmol/L', value: { min: 1, max: 35 } },
  BODY_TEMPERATURE: { unit: '°C', value: { min: 30, max: 45 } },
} as const satisfies Record<string, ObservationTypeSpec>;

export type ObservationTypeName = keyof typeof OBSERVATION_TYPES;

/** In declaration order, which is the order of the GraphQL enum and of summaries. */
export const OBSERVATION_TYPE_NAMES = Object.keys(OBSERVATION_TYPES) as ObservationTypeName[];

export function isObservationType(name: string): name is ObservationTypeName {
  return Object.hasOwn(OBSERVATION_TYPES, name);
}

export function specOf(type: ObservationTypeName): ObservationTypeSpec {
  return OBSERVATION_TYPES[type];
}

export function unitOf(type: ObservationTypeName): string {
  return OBSERVATION_TYPES[type].unit;
}

/** A broken rule: which input field (`value` or `diastolic`) and why, naming the range and the value received. */
export interface ValueProblem {
  field: 'type' | 'value' | 'diastolic';
  message: string;
}

const formatRange = (range: Range, unit: string) => `${range.min}–${range.max} ${unit}`;

/**
 * Checks a measurement against its type's unit and range. Returns the first
 * broken rule, or undefined when the measurement is plausible.
 */
export function checkMeasurement(type: string, value: number, diastolic: number | null | undefined): ValueProblem | undefined {
  if (!isObservationType(type)) {
    return { field: 'type', message: `type must be one of ${OBSERVATION_TYPE_NAMES.join(', ')}; received ${JSON.stringify(type)}` };
  }
  const spec: ObservationTypeSpec = OBSERVATION_TYPES[type];
  if (!Number.isFinite(value) || value < spec.value.min || value > spec.value.max) {
    const what = spec.diastolic ? 'value (systolic)' : 'value';
    return { field: 'value', message: `${what} must be ${formatRange(spec.value, spec.unit)}; received ${value}` };
  }
  if (spec.integer && !Number.isInteger(value)) {
    return { field: 'value', message: `value must be a whole number of ${spec.unit}; received ${value}` };
  }
  const hasDiastolic = diastolic !== null && diastolic !== undefined;
  if (!spec.diastolic) {
    if (hasDiastolic) return { field: 'diastolic', message: `diastolic is accepted only for BLOOD_PRESSURE; received ${diastolic}` };
    return undefined;
  }
  if (!hasDiastolic) {
    return { field: 'diastolic', message: `diastolic is required for ${type} (${formatRange(spec.diastolic, spec.unit)}); received null` };
  }
  if (!Number.isFinite(diastolic) || diastolic < spec.diastolic.min || diastolic > spec.diastolic.max) {
    return { field: 'diastolic', message: `diastolic must be ${formatRange(spec.diastolic, spec.unit)}; received ${diastolic}` };
  }
  if (diastolic >= value) {
    return { field: 'diastolic', message: `diastolic must be below the systolic value ${value} ${spec.unit}; received ${diastolic}` };
  }
  return undefined;
}
