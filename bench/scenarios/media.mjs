// Issue 21, 望 and 闻 from real signals: the app's whole flow through a production-mode stack (embedded media store)
// — createMediaUpload, PUT to the signed URL, subscribe to consultationUpdated over graphql-ws, submit, and wait for
// the event with the analysis applied — timed per 12-megapixel tongue photo and per 10-second voice recording
// (p50/p99), the throughput of
// analyses with several in flight on this 2-core machine, and the peak memory of one analysis in a fresh process.
import { spawnSync } from 'node:child_process';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../scripts/supergraph-config.mjs';
import { benchNode, log, peakRssMiB, percentile, prepareData, record, round, signTokens, startStack } from '../lib.mjs';

const SYNTHETIC = path.join(repoRoot, 'subgraphs/diagnosis/dist/media/synthetic');

async function gql(url, token, query, variables) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Resolves with the first consultationUpdated event whose newest media is ANALYSED (rejects on FAILED or an error). */
function analysed(client, consultationId) {
  let dispose;
  const done = new Promise((resolve, reject) => {
    dispose = client.subscribe(
      { query: 'subscription($id: ID!) { consultationUpdated(id: $id) { media { status failure { reason } } } }', variables: { id: consultationId } },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(JSON.stringify(errors)));
          const latest = data?.consultationUpdated.media[0];
          if (latest?.status === 'ANALYSED') resolve();
          if (latest?.status === 'FAILED') reject(new Error(`analysis refused: ${latest.failure.reason}`));
        },
        error: reject,
        complete: () => reject(new Error('subscription completed before the analysis')),
      },
    );
  });
  return done.finally(() => dispose());
}

/** One photo or recording through the whole flow: ms from createMediaUpload to the analysis's event. */
async function flow(stack, client, token, kind, contentType, bytes) {
  const { startConsultation } = await gql(stack.gatewayUrl, token, 'mutation { startConsultation { id } }');
  const consultationId = startConsultation.id;
  const t0 = performance.now();
  const { createMediaUpload: upload } = await gql(
    stack.gatewayUrl,
    token,
    'mutation($input: CreateMediaUploadInput!) { createMediaUpload(input: $input) { uploadId url method headers { name value } } }',
    { input: { consultationId, kind, contentType, byteSize: bytes.length } },
  );
  const put = await fetch(upload.url, { method: upload.method, headers: Object.fromEntries(upload.headers.map((h) => [h.name, h.value])), body: bytes });
  if (!put.ok) throw new Error(`PUT answered ${put.status}`);
  const uploadMs = performance.now() - t0;
  const result = analysed(client, consultationId);
  const submit =
    kind === 'TONGUE_PHOTO'
      ? ['mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }', { consultationId, tonguePhotoUploadId: upload.uploadId }]
      : ['mutation($input: SubmitListeningInput!) { submitListening(input: $input) { id } }', { consultationId, voiceUploadId: upload.uploadId, cough: 'NONE', odour: 'NONE' }];
  await gql(stack.gatewayUrl, token, submit[0], { input: submit[1] });
  await result;
  return { totalMs: performance.now() - t0, uploadMs };
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: round(percentile(sorted, 50), 0), p99: round(percentile(sorted, 99), 0) };
};

export async function media({ quick, command }) {
  const { tonguePhoto } = await import(path.join(SYNTHETIC, 'tongue.js'));
  const { voiceRecording } = await import(path.join(SYNTHETIC, 'voice.js'));
  const photo = await tonguePhoto({ bodyColour: 'LIGHT_RED', coatingColour: 'WHITE', coatingCoverage: 0.3, moisture: 'NORMAL', width: 4000, height: 3000 });
  const recording = voiceRecording({ f0Hz: 140, seconds: 10, dbfs: -20, sampleRate: 16000 });
  const runs = quick ? 2 : 20;
  const concurrent = quick ? 2 : 8;

  // createMediaUpload allows 30 a minute per user: the runs are spread over several users, as many people's would be.
  const users = quick ? 1 : 4;
  const data = await prepareData({ users });
  const tokens = await signTokens((await data.userIds()).slice(0, users));
  // Analyses poll for work every 500 ms at most when idle; submit wakes the worker of the same process at once.
  const stack = await startStack({ data, label: 'media', env: { JOBS_POLL_INTERVAL_MS: '500' } });
  const results = { photo: [], voice: [], throughput: {} };
  const clients = tokens.map((token) => createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 }));
  let turn = 0;
  /** The next user's turn: their socket and token. */
  const as = () => {
    turn += 1;
    return [clients[turn % users], tokens[turn % users]];
  };
  try {
    await flow(stack, ...as(), 'TONGUE_PHOTO', 'image/jpeg', photo); // warm-up
    for (let i = 0; i < runs; i += 1) {
      results.photo.push(await flow(stack, ...as(), 'TONGUE_PHOTO', 'image/jpeg', photo));
      results.voice.push(await flow(stack, ...as(), 'VOICE_RECORDING', 'audio/wav', recording));
    }
    for (const [name, kind, type, bytes] of [['photo', 'TONGUE_PHOTO', 'image/jpeg', photo], ['voice', 'VOICE_RECORDING', 'audio/wav', recording]]) {
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrent }, () => flow(stack, ...as(), kind, type, bytes)));
      results.throughput[name] = round((concurrent / (performance.now() - started)) * 1000, 2);
    }
    // The diagnosis process strips (re-encodes) on its main thread's libvips pool and analyses on its worker threads.
    results.diagnosisPeakMiB = round(peakRssMiB(stack.processes.diagnosis.pid), 0);
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack.stop();
    await data.drop();
  }

  // Peak memory of one analysis, each in a fresh process (what one analysis adds to a worker).
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-media-'));
  const memory = {};
  try {
    writeFileSync(path.join(dir, 'photo.jpg'), photo);
    writeFileSync(path.join(dir, 'voice.wav'), recording);
    for (const [kind, file] of [['photo', 'photo.jpg'], ['voice', 'voice.wav']]) {
      const samples = [];
      for (let i = 0; i < (quick ? 1 : 5); i += 1) {
        const run = spawnSync(benchNode, [path.join(repoRoot, 'bench/tools/analyse-once.mjs'), kind, path.join(dir, file)], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`analyse-once ${kind}: ${run.stderr}`);
        samples.push(JSON.parse(run.stdout.trim()));
      }
      const sorted = (f) => samples.map(f).sort((a, b) => a - b);
      memory[kind] = {
        addedMiB: round(sorted((s) => s.peakMiB - s.baselineMiB)[Math.floor(samples.length / 2)], 1),
        peakMiB: round(sorted((s) => s.peakMiB)[Math.floor(samples.length / 2)], 1),
        coldMs: round(sorted((s) => s.ms)[Math.floor(samples.length / 2)], 0),
      };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const summary = {
    quick,
    photoBytes: photo.length,
    recordingBytes: recording.length,
    photo: { total: stats(results.photo.map((r) => r.totalMs)), upload: stats(results.photo.map((r) => r.uploadMs)), analysis: stats(results.photo.map((r) => r.totalMs - r.uploadMs)) },
    voice: { total: stats(results.voice.map((r) => r.totalMs)), upload: stats(results.voice.map((r) => r.uploadMs)), analysis: stats(results.voice.map((r) => r.totalMs - r.uploadMs)) },
    throughputPerSecond: results.throughput,
    diagnosisPeakMiB: results.diagnosisPeakMiB,
    concurrent,
    memory,
  };
  log(`media: photo p50 ${summary.photo.total.p50} ms p99 ${summary.photo.total.p99} ms; voice p50 ${summary.voice.total.p50} ms; memory ${JSON.stringify(memory)}`);
  const markdown = `
The app's flow through the gateway (\`createMediaUpload\` → PUT → \`submitInspection\` / \`submitListening\` → the \`ANALYSED\` event),
${runs} runs each, sequential, after one warm-up; photo: a 12-MP JPEG of ${round(photo.length / 1048576, 2)} MiB;
recording: a 10-s 16 kHz WAV of ${round(recording.length / 1048576, 2)} MiB.

| media | upload (create + PUT) p50 / p99 | submit → analysed event p50 / p99 | upload + analysis p50 / p99 | throughput, ${concurrent} in flight | peak memory of one analysis (fresh process: added / total) | one analysis, cold process |
|---|---|---|---|---|---|---|
| 12-MP tongue photo | ${summary.photo.upload.p50} / ${summary.photo.upload.p99} ms | ${summary.photo.analysis.p50} / ${summary.photo.analysis.p99} ms | **${summary.photo.total.p50} / ${summary.photo.total.p99} ms** | ${results.throughput.photo} photos/s | ${memory.photo.addedMiB} / ${memory.photo.peakMiB} MiB | ${memory.photo.coldMs} ms |
| 10-s recording | ${summary.voice.upload.p50} / ${summary.voice.upload.p99} ms | ${summary.voice.analysis.p50} / ${summary.voice.analysis.p99} ms | **${summary.voice.total.p50} / ${summary.voice.total.p99} ms** | ${results.throughput.voice} recordings/s | ${memory.voice.addedMiB} / ${memory.voice.peakMiB} MiB | ${memory.voice.coldMs} ms |

Target (issue 21): a 12-megapixel photo analysed in ≤ 1 s p50 and ≤ 150 MiB. The diagnosis process peaked at ${results.diagnosisPeakMiB} MiB
over the whole run, ${concurrent} media in flight included.
`;
  record('media', command, summary, markdown);
  return summary;
}
