/**
 * Tongue photo analysis on generated photos of known truth (issue 21: Tests and evidence): colour classes and
 * thickness over a grid (confusion matrices printed), moisture, and the 12-megapixel cost.
 */
import { describe, expect, it } from 'vitest';
import type { CoatingColourValue, CoatingThicknessValue, TongueBodyColourValue } from '../src/media/contracts.js';
import { analyseTongue } from '../src/media/photo/index.js';
import { tonguePhoto, TONGUE_TRUTH, type TongueSpec } from '../src/media/synthetic/tongue.js';

const BODIES = Object.keys(TONGUE_TRUTH.body) as TongueBodyColourValue[];
const COATINGS = Object.keys(TONGUE_TRUTH.coating) as CoatingColourValue[];
const THICKNESS: Record<CoatingThicknessValue, number> = { THIN: 0.2, THICK: 0.6 };
/** Lighting and noise variants: a dimmer noisy shot and a brighter cleaner one, each with its own random layout. */
const VARIANTS = [
  { exposure: 0.88, noise: 5, seed: 11 },
  { exposure: 1.06, noise: 2, seed: 23 },
];

type Matrix = Map<string, Map<string, number>>;

function tally(matrix: Matrix, truth: string, found: string): void {
  const row = matrix.get(truth) ?? new Map<string, number>();
  row.set(found, (row.get(found) ?? 0) + 1);
  matrix.set(truth, row);
}

/** Per-class recall, printed with the matrix (rows: truth, columns: found). */
function report(name: string, classes: readonly string[], matrix: Matrix): Record<string, number> {
  const lines = [`${name} (rows: truth, columns: found)`, ['', ...classes].map((c) => c.padEnd(11)).join('')];
  const recall: Record<string, number> = {};
  for (const truth of classes) {
    const row = matrix.get(truth) ?? new Map<string, number>();
    const total = [...row.values()].reduce((a, b) => a + b, 0);
    recall[truth] = total ? (row.get(truth) ?? 0) / total : 0;
    lines.push([truth, ...classes.map((c) => String(row.get(c) ?? 0))].map((c) => c.padEnd(11)).join('') + `recall ${recall[truth]!.toFixed(2)}`);
  }
  console.log(lines.join('\n'));
  return recall;
}

describe('analyseTongue on the generated set', () => {
  it('finds body colour, coating colour and thickness (confusion matrices over 5 × 3 × 2 × 2 photos)', async () => {
    const body: Matrix = new Map();
    const coating: Matrix = new Map();
    const thickness: Matrix = new Map();
    const misses: string[] = [];
    for (const bodyColour of BODIES) {
      for (const coatingColour of COATINGS) {
        for (const [thick, coatingCoverage] of Object.entries(THICKNESS)) {
          for (const variant of VARIANTS) {
            const spec: TongueSpec = { bodyColour, coatingColour, coatingCoverage, moisture: 'NORMAL', ...variant };
            const result = await analyseTongue(await tonguePhoto(spec));
            tally(body, bodyColour, result.bodyColour.value);
            tally(coating, coatingColour, result.coatingColour.value);
            tally(thickness, thick, result.coatingThickness.value);
            if (result.bodyColour.value !== bodyColour || result.coatingColour.value !== coatingColour || result.coatingThickness.value !== thick) {
              misses.push(`${JSON.stringify(spec)} → ${result.bodyColour.value}/${result.coatingColour.value}/${result.coatingThickness.value} ${JSON.stringify(result.measures)}`);
            }
            for (const estimate of [result.bodyColour, result.coatingColour, result.coatingThickness, result.moisture]) {
              expect(estimate.confidence).toBeGreaterThanOrEqual(0);
              expect(estimate.confidence).toBeLessThanOrEqual(1);
            }
          }
        }
      }
    }
    if (misses.length) console.log(`misclassified:\n${misses.join('\n')}`);
    const recalls = [
      report('body colour', BODIES, body),
      report('coating colour', COATINGS, coating),
      report('coating thickness', Object.keys(THICKNESS), thickness),
    ];
    for (const recall of recalls) for (const value of Object.values(recall)) expect(value).toBeGreaterThanOrEqual(0.9);
  });

  it('reads moisture from the specular highlights', async () => {
    const found: string[] = [];
    for (const moisture of ['DRY', 'NORMAL', 'WET'] as const) {
      for (const [bodyColour, seed] of [['LIGHT_RED', 3], ['RED', 5], ['PALE', 9]] as const) {
        const result = await analyseTongue(await tonguePhoto({ bodyColour, coatingColour: 'WHITE', coatingCoverage: 0.2, moisture, seed }));
        found.push(`${moisture}/${bodyColour}: ${result.moisture.value} (${result.measures.specularFraction})`);
        expect(result.moisture.value, found.at(-1)).toBe(moisture);
      }
    }
    console.log(found.join('\n'));
  });

  it('fills every measure, from the auto-oriented image', async () => {
    const result = await analyseTongue(
      await tonguePhoto({ bodyColour: 'RED', coatingColour: 'YELLOW', coatingCoverage: 0.6, moisture: 'NORMAL', withMetadata: true, width: 900, height: 600 }),
    );
    const m = result.measures;
    // The fixture carries EXIF orientation 6: the analysed image is portrait.
    expect([m.width, m.height]).toEqual([427, 640]);
    expect(m.tongueAreaFraction).toBeGreaterThan(0.05);
    expect(m.coatedFraction).toBeGreaterThan(0.4);
    expect(m.sharpness).toBeGreaterThan(20);
    expect(m.meanLuminance).toBeGreaterThan(100);
    expect(m.bodyHueDegrees).toBeGreaterThan(10);
    expect(m.bodyChroma).toBeGreaterThan(40);
    expect(m.coatingLab!.b).toBeGreaterThan(25);
  });

  it('analyses a 12-megapixel photo on a downscaled copy (time and memory printed, not asserted)', async () => {
    // Noise 8 gives a 3 MiB JPEG, like a phone's 12 MP photo; generating it leaves this process's RSS high, so the
    // peak here is relative to that: the bench (a fresh process) gives the absolute figure.
    const photo = await tonguePhoto({ bodyColour: 'LIGHT_RED', coatingColour: 'WHITE', coatingCoverage: 0.2, moisture: 'NORMAL', width: 4000, height: 3000, noise: 8 });
    await analyseTongue(photo); // warm-up: module and libvips initialisation
    const baseline = process.memoryUsage();
    // Sampled while libvips decodes on its threads (the JS loops block the sampler; they allocate a few MiB only).
    let peak = { rss: baseline.rss, external: baseline.external };
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak = { rss: Math.max(peak.rss, now.rss), external: Math.max(peak.external, now.external) };
    }, 2);
    const times: number[] = [];
    try {
      for (let i = 0; i < 7; i++) {
        const start = performance.now();
        const result = await analyseTongue(photo);
        times.push(performance.now() - start);
        expect(result.bodyColour.value).toBe('LIGHT_RED');
      }
    } finally {
      clearInterval(sampler);
    }
    times.sort((a, b) => a - b);
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(
      `12 MP 4000×3000 (${mib(photo.length)} MiB JPEG), 7 runs: p50 ${times[3]!.toFixed(0)} ms, max ${times[6]!.toFixed(0)} ms; ` +
        `rss baseline ${mib(baseline.rss)} MiB, peak +${mib(peak.rss - baseline.rss)} MiB; external peak +${mib(peak.external - baseline.external)} MiB`,
    );
  });
});
