import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { heapGrowingFlag, loadGatewayConfig } from '../src/config.js';

const base = { NODE_ENV: 'test' };

describe('GATEWAY_HEAP_GROWING_PERCENT', () => {
  it('defaults to 100 % growth after a full collection', () => {
    const config = loadGatewayConfig(base);
    expect(config.GATEWAY_HEAP_GROWING_PERCENT).toBe(100);
    expect(heapGrowingFlag(config.GATEWAY_HEAP_GROWING_PERCENT)).toBe('--heap-growing-percent=100');
  });

  it('0 leaves heap growth to V8', () => {
    expect(heapGrowingFlag(loadGatewayConfig({ ...base, GATEWAY_HEAP_GROWING_PERCENT: '0' }).GATEWAY_HEAP_GROWING_PERCENT)).toBeUndefined();
  });

  it('refuses values that are not a percentage from 0 to 300', () => {
    for (const value of ['-1', '301', '1.5', 'half']) {
      expect(() => loadGatewayConfig({ ...base, GATEWAY_HEAP_GROWING_PERCENT: value }), value).toThrow(/GATEWAY_HEAP_GROWING_PERCENT/);
    }
  });

  it('names a flag this Node’s V8 knows (an unknown one would be ignored with a warning)', () => {
    const flag = heapGrowingFlag(50)!;
    const run = spawnSync(process.execPath, [flag, '-e', '0'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const unknown = spawnSync(process.execPath, ['--heap-growing-percentage=50', '-e', '0'], { encoding: 'utf8' });
    expect(unknown.status).not.toBe(0);
  });
});
