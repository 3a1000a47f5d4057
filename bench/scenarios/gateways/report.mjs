// The gateways scenario's figures: medians and ratios per gateway, and their table.
import { median, round } from '../../lib.mjs';

export function summarize(runs, rss) {
  const labels = Object.keys(runs);
  const paired = (label, other, pick) =>
    runs[label].map((x) => {
      const o = runs[other].find((y) => y.round === x.round);
      return pick(x) / pick(o);
    }).filter(Number.isFinite);
  return Object.fromEntries(
    labels.map((label) => {
      const list = runs[label];
      return [
        label,
        {
          rps: round(median(list.map((x) => x.rps)), 1),
          rpsPerGatewayCpu: round(median(list.map((x) => x.rpsPerGatewayCpu)), 1),
          p50: round(median(list.map((x) => x.p50)), 1),
          p95: round(median(list.map((x) => x.p95)), 1),
          p99: round(median(list.map((x) => x.p99)), 1),
          errors: list.reduce((s, x) => s + x.errors, 0),
          non2xx: list.reduce((s, x) => s + x.non2xx, 0),
          graphqlErrors: list.reduce((s, x) => s + x.graphqlErrors, 0),
          peakRssMiB: round(rss[label], 1),
          // Each run over the peer's run of the same round, then the median of those.
          vsHive: {
            rps: round(median(paired(label, 'hive', (x) => x.rps)), 3),
            rpsPerGatewayCpu: round(median(paired(label, 'hive', (x) => x.rpsPerGatewayCpu)), 3),
            p95: round(median(paired(label, 'hive', (x) => x.p95)), 3),
            peakRss: round(rss[label] / rss.hive, 3),
          },
          vsApollo: {
            rps: round(median(paired(label, 'apollo', (x) => x.rps)), 3),
            rpsPerGatewayCpu: round(median(paired(label, 'apollo', (x) => x.rpsPerGatewayCpu)), 3),
            p95: round(median(paired(label, 'apollo', (x) => x.p95)), 3),
            peakRss: round(rss[label] / rss.apollo, 3),
          },
          // With BENCH_BASELINE: ours-on over base-on (and off over off), per round, then the median.
          ...(runs[label.replace('ours-', 'base-')] && label.startsWith('ours-')
            ? { vsBase: { rpsPerGatewayCpu: round(median(paired(label, label.replace('ours-', 'base-'), (x) => x.rpsPerGatewayCpu)), 3) } }
            : {}),
          runs: list.map((x) => ({ round: x.round, rps: round(x.rps, 1), rpsPerGatewayCpu: round(x.rpsPerGatewayCpu, 1), p95: x.p95 })),
        },
      ];
    }),
  );
}

export function table(summary) {
  const rows = Object.entries(summary).map(
    ([label, x]) =>
      `| ${label} | ${x.rps} | ${x.rpsPerGatewayCpu} | ${x.vsHive.rpsPerGatewayCpu} | ${x.vsApollo.rpsPerGatewayCpu} | ${x.p50} | ${x.p95} | ${x.p99} | ${x.vsHive.p95} | ${x.peakRssMiB} | ${x.vsHive.peakRss} | ${x.errors} / ${x.non2xx} / ${x.graphqlErrors} |`,
  );
  return `| gateway | req/s | req per gateway CPU-s | ÷ Hive | ÷ stock Apollo | p50 ms | p95 ms | p99 ms | p95 ÷ Hive | peak RSS MiB | RSS ÷ Hive | errors / non-2xx / GraphQL errors |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}`;
}
