export { createEventBus, MemoryEventBus, RedisEventBus, type EventBus, type EventBusOptions } from './bus.js';
export { SUBSCRIPTION_OVERFLOW, type EventStream } from './event-stream.js';
export { createStreamEndpoint, STREAM_PATH, TOO_MANY_SUBSCRIPTIONS, type StreamEndpointOptions, type StreamRefusal } from './stream.js';
export { liveEnv, type LiveConfig } from './config.js';
export { contextEvents, startingWith, subgraphStreamEndpoint, type ContextEvents } from './subgraph-stream.js';
