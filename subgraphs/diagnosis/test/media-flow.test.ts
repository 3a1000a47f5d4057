import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeOverSse, until } from '@suoke/platform/testing';
import type { MediaKinds } from '../src/media/kinds.js';
import { enforceRetention } from '../src/service/media-analysis.js';
import { hostilePhotos, tonguePhoto } from '../src/media/synthetic/tongue.js';
import { hostileRecordings, voiceRecording } from '../src/media/synthetic/voice.js';
import { startDiagnosis } from './harness.js';

// The media pipeline inside the diagnosis subgraph (issue 21): a worker that dies mid-analysis is retried, the
// report waits for analyses, and retention deletes originals but keeps the analysis.

const mediaDir = mkdtempSync(path.join(tmpdir(), 'suoke-media-'));
let crashes = 0;
/** The first analysis of every recording dies as a worker would (an exception mid-job): the job must be retried. */
const dyingOnce = (kinds: MediaKinds): MediaKinds => {
  const seen = new Set<number>();
  return {
    ...kinds,
    VOICE_RECORDING: {
      ...kinds.VOICE_RECORDING,
      analyse: async (bytes) => {
        if (!seen.has(bytes.length)) {
          seen.add(bytes.length);
          crashes += 1;
          throw new Error('worker died mid-analysis');
        }
        return kinds.VOICE_RECORDING.analyse(bytes);
      },
    },
  };
};

let diagnosis: Awaited<ReturnType<typeof startDiagnosis>>;
const owner = { id: randomUUID() };

beforeAll(async () => {
  diagnosis = await startDiagnosis({ env: { MEDIA_DIR: mediaDir, JOBS_POLL_INTERVAL_MS: '500' }, createOptions: { mediaKinds: dyingOnce } });
});
afterAll(async () => {
  await diagnosis?.close();
  rmSync(mediaDir, { recursive: true, force: true });
});

async function started(): Promise<string> {
  const result = await diagnosis.gql('mutation { startConsultation { id } }', {}, owner);
  return result.data?.startConsultation.id;
}

async function uploaded(consultationId: string, kind: string, contentType: string, bytes: Buffer): Promise<string> {
  const created = await diagnosis.gql(
    'mutation($input: CreateMediaUploadInput!) { createMediaUpload(input: $input) { uploadId url method headers { name value } } }',
    { input: { consultationId, kind, contentType, byteSize: bytes.length } },
    owner,
  );
  expect(created.errors).toBeUndefined();
  const { uploadId, url, method, headers } = created.data?.createMediaUpload;
  const put = await fetch(url, { method, headers: Object.fromEntries(headers.map((h: any) => [h.name, h.value])), body: bytes });
  expect(put.status).toBeLessThan(300);
  return uploadId;
}

async function mediaOf(id: string) {
  const read = await diagnosis.gql('query($id: ID!) { consultation(id: $id) { media { id status originalKept originalDeletedAt } listening { voiceVolume } } }', { id }, owner);
  expect(read.errors).toBeUndefined();
  return read.data?.consultation;
}

describe('media pipeline', () => {
  it('retries an analysis whose worker died, and the report waits for it', async () => {
    const id = await started();
    const uploadId = await uploaded(id, 'VOICE_RECORDING', 'audio/wav', voiceRecording({ f0Hz: 120, seconds: 3, dbfs: -20 }));
    const submitted = await diagnosis.gql(
      'mutation($input: SubmitListeningInput!) { submitListening(input: $input) { id } }',
      { input: { consultationId: id, voiceUploadId: uploadId, cough: 'NONE', odour: 'NONE' } },
      owner,
    );
    expect(submitted.errors).toBeUndefined();
    // While analysing, completing would leave the recording out of the report.
    const early = await diagnosis.gql('mutation($id: ID!) { completeConsultation(id: $id) { id } }', { id }, owner);
    if ((await mediaOf(id)).media[0].status === 'ANALYSING') expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'MEDIA_ANALYSING' });
    const done = await until('the retried analysis', async () => ((await mediaOf(id)).listening ? mediaOf(id) : undefined), 30_000);
    expect(crashes).toBeGreaterThanOrEqual(1);
    expect(done.media[0]).toMatchObject({ id: uploadId, status: 'ANALYSED', originalKept: true });
  });

  it('deletes originals after the retention period and keeps the analysis', async () => {
    const id = await started();
    const uploadId = await uploaded(
      id,
      'TONGUE_PHOTO',
      'image/jpeg',
      await tonguePhoto({ bodyColour: 'PALE', coatingColour: 'WHITE', coatingCoverage: 0.15, moisture: 'WET' }),
    );
    await diagnosis.gql('mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }', { input: { consultationId: id, tonguePhotoUploadId: uploadId } }, owner);
    await until('the photo analysed', async () => ((await mediaOf(id)).media[0].status === 'ANALYSED' ? true : undefined), 30_000);
    const kept = readdirSync(path.join(mediaDir, 'originals')).filter((name) => name.startsWith(uploadId));
    expect(kept).toHaveLength(1);
    // An upload created and never submitted.
    const abandoned = await uploaded(id, 'TONGUE_PHOTO', 'image/jpeg', Buffer.from('not yet checked'));

    const media = diagnosis.subgraph.media;
    // Before its URL expired (and the hour of grace to submit passed), an upload stays; so does every original.
    expect(await enforceRetention(media, 30, new Date(Date.now() + 30 * 60_000))).toEqual({ originalsDeleted: 0, uploadsExpired: 0 });
    // Within the period no original goes; the abandoned upload does.
    const early = await enforceRetention(media, 30, new Date(Date.now() + 29 * 86_400_000));
    expect(early.originalsDeleted).toBe(0);
    expect(early.uploadsExpired).toBeGreaterThanOrEqual(1);
    const swept = await enforceRetention(media, 30, new Date(Date.now() + 31 * 86_400_000));
    expect(swept.originalsDeleted).toBeGreaterThanOrEqual(1);
    expect(readdirSync(path.join(mediaDir, 'originals')).filter((name) => name.startsWith(uploadId))).toHaveLength(0);
    expect(readdirSync(path.join(mediaDir, 'uploads')).filter((name) => name.startsWith(abandoned))).toHaveLength(0);

    const after = await diagnosis.gql(
      'query($id: ID!) { consultation(id: $id) { media { id status originalKept originalDeletedAt } inspection { measured { moisture } tongue { bodyColour } } } }',
      { id },
      owner,
    );
    const photo = after.data?.consultation.media.find((m: any) => m.id === uploadId);
    expect(photo).toMatchObject({ status: 'ANALYSED', originalKept: false });
    expect(photo.originalDeletedAt).toBeTruthy();
    expect(after.data?.consultation.media.find((m: any) => m.id === abandoned)).toMatchObject({ status: 'EXPIRED' });
    expect(after.data?.consultation.inspection.tongue.bodyColour).toBe('PALE');
    const download = await diagnosis.gql('query($id: ID!) { mediaDownload(id: $id) { url } }', { id: uploadId }, owner);
    expect(download.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'NOT_KEPT' });
  });

  it('announces the analysis on consultationUpdated to the owner only: anyone else gets the NOT_FOUND of an unknown id', async () => {
    const id = await started();
    const UPDATED = 'subscription($id: ID!) { consultationUpdated(id: $id) { id status media { id status } listening { voiceVolume measures { f0Hz } } } }';
    for (const [caller, target] of [[{ id: randomUUID() }, id], [owner, randomUUID()], [owner, 'not-a-uuid']] as const) {
      const refused = subscribeOverSse<any>(diagnosis.url, UPDATED, { id: target }, { caller });
      const answer = await refused.next();
      expect([answer?.data?.consultationUpdated ?? null, answer?.errors?.map((e) => e.extensions?.code)]).toEqual([null, ['NOT_FOUND']]);
      refused.dispose();
    }
    const stream = subscribeOverSse<any>(diagnosis.url, UPDATED, { id }, { caller: owner });
    expect((await stream.next())?.data?.consultationUpdated).toMatchObject({ id, status: 'OPEN', media: [], listening: null });
    const uploadId = await uploaded(id, 'VOICE_RECORDING', 'audio/wav', voiceRecording({ f0Hz: 210, seconds: 2, dbfs: -22 }));
    await diagnosis.gql(
      'mutation($input: SubmitListeningInput!) { submitListening(input: $input) { id } }',
      { input: { consultationId: id, voiceUploadId: uploadId, cough: 'DRY', odour: 'NONE' } },
      owner,
    );
    const seen: any[] = [];
    for (;;) {
      const event = (await stream.next(30_000))?.data?.consultationUpdated;
      seen.push(event.media[0]?.status);
      if (event.listening) {
        expect(event.media[0]).toEqual({ id: uploadId, status: 'ANALYSED' });
        expect(Math.abs(event.listening.measures.f0Hz - 210) / 210).toBeLessThan(0.02);
        break;
      }
    }
    expect(seen).toContain('ANALYSING');
    stream.dispose();
  });

  it('keeps no byte of a refused file: neither the upload nor an original', async () => {
    const id = await started();
    const photos = await hostilePhotos();
    const lying = hostileRecordings().find((r) => r.name === 'data-size-lies')!;
    const files = () => ['uploads', 'originals'].flatMap((folder) => {
      try {
        return readdirSync(path.join(mediaDir, folder));
      } catch {
        return [];
      }
    });
    for (const [kind, type, bytes, field] of [
      ['TONGUE_PHOTO', 'image/png', photos.pngBomb, 'tonguePhotoUploadId'],
      ['TONGUE_PHOTO', 'image/jpeg', photos.truncatedJpeg, 'tonguePhotoUploadId'],
      ['VOICE_RECORDING', 'audio/wav', lying.bytes, 'voiceUploadId'],
    ] as const) {
      const uploadId = await uploaded(id, kind, type, bytes);
      expect(files().some((name) => name.startsWith(uploadId))).toBe(true);
      const mutation =
        kind === 'TONGUE_PHOTO'
          ? 'mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }'
          : 'mutation($input: SubmitListeningInput!) { submitListening(input: $input) { id } }';
      const input = kind === 'TONGUE_PHOTO' ? { consultationId: id, [field]: uploadId } : { consultationId: id, [field]: uploadId, cough: 'NONE', odour: 'NONE' };
      const refused = await diagnosis.gql(mutation, { input }, owner);
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(files().filter((name) => name.startsWith(uploadId))).toEqual([]);
    }
  });
});
