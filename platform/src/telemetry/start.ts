// Side-effect entry point: `import '@suoke/platform/telemetry/start'` as the FIRST
// import of a service's index.ts, so that http, graphql and ioredis load patched.
// The tracer provider (service name, sampler, exporter) is set up later, from the
// validated configuration, by startTracing; spans started before that are no-ops.
//
// Nothing is patched unless spans will go somewhere (tracesExported: an OTLP
// endpoint, or OTEL_TRACES_EXPORTER=otlp|console) and OTEL_SDK_DISABLED is not
// `true`: without an exporter, tracing costs nothing at all. The variables are
// read raw here (the configuration is validated later, and a typo stops the
// process there).
import { enableInstrumentation, tracesExported } from './boot.js';

const env = process.env;
const set = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);
const exporter = set(env.OTEL_TRACES_EXPORTER)?.toLowerCase();
const wanted = tracesExported({
  OTEL_SDK_DISABLED: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true',
  OTEL_TRACES_EXPORTER: exporter === 'none' || exporter === 'otlp' || exporter === 'console' ? exporter : undefined,
  OTEL_EXPORTER_OTLP_ENDPOINT: set(env.OTEL_EXPORTER_OTLP_ENDPOINT),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
});
if (wanted) enableInstrumentation();
