// Seeded draws for the fakes: a PRNG, latency distributions, stable fractions of a text, a token estimate.

/**
 * A pseudo-random generator with a seed (mulberry32), so that runs draw the
 * same latencies and failures in the same order of arrival.
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(random) {
  const u = Math.max(random(), Number.EPSILON);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * Latency samplers with the given mean and standard deviation (ms).
 * - lognormal: right-skewed and never negative, the usual shape of model latency;
 * - normal: clamped at 1 ms (so keep sd well under the mean);
 * - exponential: sd is the mean by definition (sdMs is ignored).
 */
export function latencySampler({ distribution, meanMs, sdMs }, random) {
  switch (distribution) {
    case 'lognormal': {
      const sigma2 = Math.log(1 + (sdMs / meanMs) ** 2);
      const mu = Math.log(meanMs) - sigma2 / 2;
      return () => Math.exp(mu + Math.sqrt(sigma2) * gaussian(random));
    }
    case 'normal':
      return () => Math.max(1, meanMs + sdMs * gaussian(random));
    case 'exponential':
      return () => -meanMs * Math.log(Math.max(random(), Number.EPSILON));
    default:
      throw new Error(`distribution must be lognormal, normal or exponential; received ${JSON.stringify(distribution)}`);
  }
}

/** Tokens of a text as a model's tokenizer roughly counts them: one per CJK character, one per four other characters. */
export function estimateTokens(text) {
  let cjk = 0;
  for (const ch of text) if (/[\u3000-\u9fff\uff00-\uffef]/u.test(ch)) cjk += 1;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

/** A stable fraction in [0, 1) of a text (FNV-1a): the fake decides the same way for the same question. */
export function fraction(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h / 4294967296;
}
