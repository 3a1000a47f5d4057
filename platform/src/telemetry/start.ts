// Side-effect entry point: `import '@suoke/platform/telemetry/start'` as the FIRST
// import of a service's index.ts, so that http, graphql and ioredis load patched.
// The tracer provider (service name, sampler, exporter) is set up later, from the
// validated configuration, by startTracing; spans started before that are no-ops.
import { enableInstrumentation } from './instrument.js';

const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
if (!disabled) enableInstrumentation();
