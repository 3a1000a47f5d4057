import { describe, expect, it } from 'vitest';
import { currentSolarTerm, nextSolarTerm, seasonOf, solarTermsOf } from '../src/service/seasons.js';

// Solar terms computed from the sun's apparent longitude (astronomy-engine), against published dates.
//
// Source of the published dates (China Standard Time), January to May of 2023–2026:
//   "Date and Time Information of 24 Solar Terms", https://www.chinesecalendaronline.com/solar-terms/
// Its times differ from the Hong Kong Observatory's by a few minutes late in its table (e.g. 2025 春分 16:57 there,
// 17:01 at HKO), so dates are compared, not minutes. No published table for 2027 was found in the reference
// store; 2027 is checked for the properties every year has (24 terms, 15° apart, in order, the usual dates).
const PUBLISHED: Record<number, string[]> = {
  // 小寒, 大寒, 立春, 雨水, 惊蛰, 春分, 清明, 谷雨, 立夏, 小满
  2023: ['01-05', '01-20', '02-04', '02-19', '03-06', '03-21', '04-05', '04-20', '05-06', '05-21'],
  2024: ['01-06', '01-20', '02-04', '02-19', '03-05', '03-20', '04-04', '04-19', '05-05', '05-20'],
  2025: ['01-05', '01-20', '02-03', '02-18', '03-05', '03-20', '04-04', '04-20', '05-05', '05-21'],
  2026: ['01-05', '01-20', '02-04', '02-18', '03-05', '03-20', '04-05', '04-20', '05-05', '05-21'],
};

describe('solar terms', () => {
  it.each(Object.entries(PUBLISHED))('%s: the first ten terms fall on the published dates (China Standard Time)', (year, dates) => {
    const terms = solarTermsOf(Number(year));
    expect(terms.slice(0, 10).map((t) => t.dateInChina)).toEqual(dates.map((d) => `${year}-${d}`));
    expect(terms.slice(0, 10).map((t) => t.name)).toEqual(['小寒', '大寒', '立春', '雨水', '惊蛰', '春分', '清明', '谷雨', '立夏', '小满']);
  });

  it.each([2026, 2027])('%s has 24 terms, 15° apart in order from 小寒 (285°), each 14–16.5 days after the last', (year) => {
    const terms = solarTermsOf(year);
    expect(terms).toHaveLength(24);
    expect(terms.map((t) => t.longitude)).toEqual(Array.from({ length: 24 }, (_, i) => (285 + 15 * i) % 360));
    for (let i = 1; i < terms.length; i += 1) {
      const days = (terms[i]!.at.getTime() - terms[i - 1]!.at.getTime()) / 86_400_000;
      expect(days).toBeGreaterThan(14);
      expect(days).toBeLessThan(16.5);
    }
    // The equinoxes and solstices in China: March 20–21, June 21–22, September 22–23, December 21–22.
    const byName = Object.fromEntries(terms.map((t) => [t.name, t.dateInChina.slice(5)]));
    expect(['03-20', '03-21']).toContain(byName['春分']);
    expect(['06-21', '06-22']).toContain(byName['夏至']);
    expect(['09-22', '09-23']).toContain(byName['秋分']);
    expect(['12-21', '12-22']).toContain(byName['冬至']);
  });

  it('next and current term around a boundary: 2026 立春 (the sun at 315°) starts 2026-02-04 in China', () => {
    const lichun = solarTermsOf(2026).find((t) => t.name === '立春')!;
    expect(lichun.dateInChina).toBe('2026-02-04');
    const before = new Date(lichun.at.getTime() - 60_000);
    expect(nextSolarTerm(before)).toMatchObject({ name: '立春', longitude: 315 });
    expect(currentSolarTerm(before)).toMatchObject({ name: '大寒', longitude: 300 });
    expect(currentSolarTerm(new Date(lichun.at.getTime() + 60_000))).toMatchObject({ name: '立春' });
    expect(nextSolarTerm(lichun.at)).toMatchObject({ name: '雨水', longitude: 330 });
    expect(seasonOf(315)).toBe('SPRING');
    expect(seasonOf(300)).toBe('WINTER');
  });
});
