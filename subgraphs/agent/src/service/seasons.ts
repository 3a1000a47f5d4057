import { SearchSunLongitude, SunPosition } from 'astronomy-engine';

/**
 * The 24 solar terms (二十四节气), computed astronomically: a term begins when
 * the sun's apparent geocentric ecliptic longitude (of date) reaches a multiple
 * of 15° (春分 at 0°, 清明 at 15°, … 惊蛰 at 345°). astronomy-engine (MIT)
 * finds the instant; dates are then read in China Standard Time (UTC+8),
 * which is how the published calendars date them.
 */

export interface SolarTermInfo {
  /** Sun's ecliptic longitude at the term's start, degrees: 0, 15, … 345. */
  longitude: number;
  name: string;
  pinyin: string;
  nameEn: string;
}

export interface SolarTerm extends SolarTermInfo {
  /** The instant the sun reaches `longitude`. */
  at: Date;
  /** Its date in China Standard Time, `YYYY-MM-DD`. */
  dateInChina: string;
}

// By longitude / 15: index 0 is 春分 (0°).
const TERMS: readonly [string, string, string][] = [
  ['春分', 'chunfen', 'Spring Equinox'],
  ['清明', 'qingming', 'Pure Brightness'],
  ['谷雨', 'guyu', 'Grain Rain'],
  ['立夏', 'lixia', 'Start of Summer'],
  ['小满', 'xiaoman', 'Grain Buds'],
  ['芒种', 'mangzhong', 'Grain in Ear'],
  ['夏至', 'xiazhi', 'Summer Solstice'],
  ['小暑', 'xiaoshu', 'Minor Heat'],
  ['大暑', 'dashu', 'Major Heat'],
  ['立秋', 'liqiu', 'Start of Autumn'],
  ['处暑', 'chushu', 'End of Heat'],
  ['白露', 'bailu', 'White Dew'],
  ['秋分', 'qiufen', 'Autumn Equinox'],
  ['寒露', 'hanlu', 'Cold Dew'],
  ['霜降', 'shuangjiang', "Frost's Descent"],
  ['立冬', 'lidong', 'Start of Winter'],
  ['小雪', 'xiaoxue', 'Minor Snow'],
  ['大雪', 'daxue', 'Major Snow'],
  ['冬至', 'dongzhi', 'Winter Solstice'],
  ['小寒', 'xiaohan', 'Minor Cold'],
  ['大寒', 'dahan', 'Major Cold'],
  ['立春', 'lichun', 'Start of Spring'],
  ['雨水', 'yushui', 'Rain Water'],
  ['惊蛰', 'jingzhe', 'Awakening of Insects'],
];

export function termInfo(longitude: number): SolarTermInfo {
  const entry = TERMS[Math.round(longitude / 15) % 24];
  if (!entry || longitude % 15 !== 0) throw new Error(`a solar term's longitude is a multiple of 15 in [0, 345]; received ${longitude}`);
  const [name, pinyin, nameEn] = entry;
  return { longitude, name, pinyin, nameEn };
}

const CST_MS = 8 * 3_600_000;
const chinaDate = (at: Date) => new Date(at.getTime() + CST_MS).toISOString().slice(0, 10);

function term(longitude: number, at: Date): SolarTerm {
  return { ...termInfo(longitude), at, dateInChina: chinaDate(at) };
}

/** The first term starting strictly after `after`. */
export function nextSolarTerm(after: Date): SolarTerm {
  const longitude = SunPosition(after).elon;
  // The sun moves about 1°/day: the next multiple of 15° is at most ~16 days away.
  let target = (Math.floor(longitude / 15) + 1) * 15;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const found = SearchSunLongitude(target % 360, after, 20);
    if (found && found.date.getTime() > after.getTime()) return term(target % 360, found.date);
    target += 15;
  }
  throw new Error(`no solar term found after ${after.toISOString()}`);
}

/** The term in force at `at`: the last one that started at or before it. */
export function currentSolarTerm(at: Date): SolarTerm {
  const longitude = Math.floor(SunPosition(at).elon / 15) * 15;
  // It started at most ~16 days ago.
  const found = SearchSunLongitude(longitude, new Date(at.getTime() - 20 * 86_400_000), 21);
  if (!found) throw new Error(`no solar term found before ${at.toISOString()}`);
  return term(longitude, found.date);
}

/** The 24 terms whose dates (China Standard Time) fall in `year`, in order (小寒 first). */
export function solarTermsOf(year: number): SolarTerm[] {
  const terms: SolarTerm[] = [];
  // 小寒 (285°) starts in early January; begin a little before the year in China.
  let cursor = new Date(Date.UTC(year - 1, 11, 25) - CST_MS);
  while (terms.length < 26) {
    const next = nextSolarTerm(cursor);
    if (next.dateInChina.startsWith(`${year + 1}-`)) break;
    if (next.dateInChina.startsWith(`${year}-`)) terms.push(next);
    cursor = next.at;
  }
  return terms;
}

/** Which of the four seasons a term belongs to (立春 … 谷雨 spring, and so on; by longitude). */
export function seasonOf(longitude: number): 'SPRING' | 'SUMMER' | 'AUTUMN' | 'WINTER' {
  if (longitude >= 315 || longitude < 45) return 'SPRING';
  if (longitude < 135) return 'SUMMER';
  if (longitude < 225) return 'AUTUMN';
  return 'WINTER';
}

/** What the GraphQL `SolarTerm` resolves from (named apart from the generated type). */
export type SolarTermValue = SolarTerm;
