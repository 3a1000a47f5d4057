// Operation-name labels come only from a bounded, known set: configured names
// and those the gateway feeds from its trusted documents.
import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../src/metrics.js';

describe('ServiceMetrics.operationLabel', () => {
  it('labels only known names; setKnownOperationNames replaces the fed set and keeps the configured one', () => {
    const metrics = new ServiceMetrics('labels-test', { defaultMetrics: false, operationNames: ['Configured'] });
    expect(metrics.operationLabel(undefined)).toBe('(anonymous)');
    expect(metrics.operationLabel('')).toBe('(anonymous)');
    expect(metrics.operationLabel('Configured')).toBe('Configured');
    expect(metrics.operationLabel('Home')).toBe('(other)');
    metrics.setKnownOperationNames(['Home', 'SignIn']);
    expect(metrics.operationLabel('Home')).toBe('Home');
    expect(metrics.operationLabel('SignIn')).toBe('SignIn');
    metrics.setKnownOperationNames(['Chat']);
    expect(metrics.operationLabel('Home')).toBe('(other)');
    expect(metrics.operationLabel('Chat')).toBe('Chat');
    expect(metrics.operationLabel('Configured')).toBe('Configured');
  });

  it("labels a subgraph fetch named by the planner after its known operation, and an unknown one's as (other)", () => {
    const metrics = new ServiceMetrics('labels-test', { defaultMetrics: false, operationNames: ['Home'] });
    expect(metrics.operationLabel('Home__health__1')).toBe('Home');
    expect(metrics.operationLabel('Home__user_profile__12')).toBe('Home');
    expect(metrics.operationLabel('Evil__health__1')).toBe('(other)');
    expect(metrics.operationLabel('Home__health__x')).toBe('(other)');
  });

  it('bounds the label set whatever 10,000 strangers send', async () => {
    const metrics = new ServiceMetrics('labels-test', { defaultMetrics: false, operationNames: ['Home'] });
    const labels = new Set(Array.from({ length: 10_000 }, (_, i) => metrics.operationLabel(`Op${i}_${Math.random().toString(36).slice(2)}`)));
    expect([...labels]).toEqual(['(other)']);
  });
});
