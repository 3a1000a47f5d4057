import { createClient, type Client } from 'graphql-ws';
import sharp from 'sharp';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToken, until } from '@suoke/platform/testing';
import { hostilePhotos, tonguePhoto } from '../subgraphs/diagnosis/src/media/synthetic/tongue.js';
import { hostileRecordings, voiceRecording } from '../subgraphs/diagnosis/src/media/synthetic/voice.js';
import { codes, startStack, type GraphQLResponse, type Stack } from './harness.js';
import { subscribe, waitFor, type Payload } from './live-harness.js';

// The app's flow for 望 and 闻 through the gateway (issue 21): create an upload, PUT the bytes straight to storage
// (the embedded store: this diagnosis subgraph's signed URLs), submit, and learn the analysis from
// `consultationUpdated` over graphql-ws; then download the kept original, stripped of its metadata.

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`;
const CREATE_UPLOAD = `mutation($input: CreateMediaUploadInput!) { createMediaUpload(input: $input) { uploadId url method headers { name value } expiresAt } }`;
const MEDIA = 'media { id kind status contentType byteSize width height durationSeconds originalKept failure { code reason message } }';
const INSPECTION = `inspection { tongue { bodyColour coatingColour coatingThickness moisture teethMarks } complexion
  measured { bodyColour bodyColourConfidence coatingThickness coatedFraction sharpness } sources { field source confidence } photo { id status } findings { code } }`;
const LISTENING = `listening { voiceVolume breathless cough measures { f0Hz rmsDbfs hnrDb voicedFraction jitterPercent voiceVolume } sources { field source } recording { id } }`;

let stack: Stack;
let token: string;
let userId: string;

beforeAll(async () => {
  stack = await startStack({ subgraphEnv: { SAGA_SWEEP_MS: '0', JOBS_POLL_INTERVAL_MS: '500' } });
  const registered = await stack.query(REGISTER, { input: { email: `media-${Date.now()}@example.com`, password: 'tongue-and-voice-2026', displayName: '李华' } });
  token = registered.data?.register.accessToken;
  userId = registered.data?.register.user.id;
});
afterAll(async () => {
  await stack?.stop();
});

async function startConsultation(as = token): Promise<string> {
  const started = await stack.query('mutation { startConsultation { id } }', {}, as);
  expect(started.errors).toBeUndefined();
  return started.data?.startConsultation.id;
}

/** createMediaUpload, then the PUT the app makes itself, with exactly the headers given. */
async function upload(consultationId: string, kind: string, contentType: string, bytes: Buffer, as = token): Promise<string> {
  const created = await stack.query(CREATE_UPLOAD, { input: { consultationId, kind, contentType, byteSize: bytes.length } }, as);
  expect(created.errors).toBeUndefined();
  const { uploadId, url, method, headers } = created.data?.createMediaUpload;
  // The bytes never pass through the gateway: the URL is the store's.
  expect(new URL(url).origin).not.toBe(new URL(stack.gatewayUrl).origin);
  const put = await fetch(url, { method, headers: Object.fromEntries(headers.map((h: { name: string; value: string }) => [h.name, h.value])), body: bytes });
  expect(put.status).toBeLessThan(300);
  return uploadId;
}

async function consultation(id: string, fields: string, as = token): Promise<GraphQLResponse<any>> {
  return stack.query(`query($id: ID!) { consultation(id: $id) { id ${fields} } }`, { id }, as);
}

describe('a tongue photo, end to end', () => {
  let client: Client;
  afterAll(async () => client?.dispose());

  it('is uploaded, analysed in the background, announced on consultationUpdated, and downloadable without metadata', async () => {
    const id = await startConsultation();
    const photo = await tonguePhoto({ bodyColour: 'RED', coatingColour: 'YELLOW', coatingCoverage: 0.6, moisture: 'NORMAL', withMetadata: true, width: 1200, height: 900 });
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    const uploadId = await upload(id, 'TONGUE_PHOTO', 'image/jpeg', photo);

    client = createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    const updates = subscribe(client, `subscription($id: ID!) { consultationUpdated(id: $id) { id ${MEDIA} ${INSPECTION} } }`, { id });
    await waitFor(() => updates.received.length > 0, 'the consultation as it is now');

    const submitted = await stack.query(
      `mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id ${MEDIA} inspection { complexion } } }`,
      { input: { consultationId: id, tonguePhotoUploadId: uploadId, complexion: 'NORMAL' } },
      token,
    );
    expect(submitted.errors).toBeUndefined();
    // Answered at once: the photo passed the checks and is being analysed.
    // Its EXIF orientation (6: turned 90°) is applied: the photo as the person saw it.
    expect(submitted.data?.submitInspection.media[0]).toMatchObject({ id: uploadId, status: 'ANALYSING', contentType: 'image/jpeg', width: 900, height: 1200 });
    expect(submitted.data?.submitInspection.inspection).toBeNull();

    const analysed = await until('the analysis on consultationUpdated', () =>
      updates.received.map((p: Payload) => p.data?.consultationUpdated).find((c: any) => c?.media[0]?.status === 'ANALYSED' && c.inspection),
    );
    expect(analysed.inspection.tongue).toMatchObject({ bodyColour: 'RED', coatingColour: 'YELLOW', coatingThickness: 'THICK', teethMarks: false });
    expect(analysed.inspection.complexion).toBe('NORMAL');
    expect(analysed.inspection.measured.bodyColour).toBe('RED');
    expect(analysed.inspection.photo).toEqual({ id: uploadId, status: 'ANALYSED' });
    const sources = Object.fromEntries(analysed.inspection.sources.map((s: any) => [s.field, s]));
    expect(sources.bodyColour).toMatchObject({ source: 'MEASURED' });
    expect(sources.bodyColour.confidence).toBeGreaterThan(0);
    expect(sources.teethMarks).toMatchObject({ source: 'NOT_ASSESSED', confidence: null });
    expect(sources.complexion).toMatchObject({ source: 'CHOSEN' });
    expect(analysed.inspection.findings.map((f: any) => f.code)).toContain('TONGUE_RED');

    // The kept original: stripped of EXIF/GPS/XMP; the URL is given to the owner only, and audited.
    const download = await stack.query('query($id: ID!) { mediaDownload(id: $id) { url contentType expiresAt } }', { id: uploadId }, token);
    expect(download.errors).toBeUndefined();
    const served = Buffer.from(await (await fetch(download.data?.mediaDownload.url)).arrayBuffer());
    expect(served.includes(Buffer.from('Exif'))).toBe(false);
    const metadata = await sharp(served).metadata();
    expect(metadata.exif).toBeUndefined();
    expect(metadata.xmp).toBeUndefined();
    expect([metadata.width, metadata.height, metadata.orientation]).toEqual([900, 1200, undefined]);

    const stranger = await testToken({ id: crypto.randomUUID() });
    const refused = await stack.query('query($id: ID!) { mediaDownload(id: $id) { url } }', { id: uploadId }, stranger);
    expect(codes(refused)).toEqual(['NOT_FOUND']);
    const clinician = await testToken({ id: crypto.randomUUID(), roles: ['CLINICIAN'] });
    const allowed = await stack.query('query($id: ID!) { mediaDownload(id: $id) { url } }', { id: uploadId }, clinician);
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data?.mediaDownload.url).toMatch(/^http/);

    // A correction after the analysis is applied at once, and recorded as chosen.
    const corrected = await stack.query(
      `mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { ${INSPECTION} } }`,
      { input: { consultationId: id, tonguePhotoUploadId: uploadId, tongue: { bodyColour: 'CRIMSON' } } },
      token,
    );
    expect(corrected.errors).toBeUndefined();
    const after = corrected.data?.submitInspection.inspection;
    expect(after.tongue.bodyColour).toBe('CRIMSON');
    expect(after.measured.bodyColour).toBe('RED');
    expect(after.sources.find((s: any) => s.field === 'bodyColour')).toMatchObject({ source: 'CHOSEN' });
    expect(after.complexion).toBeNull();
  });
});

describe('a voice recording', () => {
  it('is measured in the background and its measures are readable on the consultation', async () => {
    const id = await startConsultation();
    const wav = voiceRecording({ f0Hz: 180, seconds: 4, dbfs: -18 });
    const uploadId = await upload(id, 'VOICE_RECORDING', 'audio/wav', wav);
    const submitted = await stack.query(
      `mutation($input: SubmitListeningInput!) { submitListening(input: $input) { ${MEDIA} } }`,
      { input: { consultationId: id, voiceUploadId: uploadId, cough: 'NONE', odour: 'NONE' } },
      token,
    );
    expect(submitted.errors).toBeUndefined();
    expect(submitted.data?.submitListening.media[0]).toMatchObject({ status: 'ANALYSING', contentType: 'audio/wav' });
    expect(submitted.data?.submitListening.media[0].durationSeconds).toBeCloseTo(4, 1);
    // Polling, as an app without a subscription would.
    const listening = await until('the listening result', async () => (await consultation(id, LISTENING)).data?.consultation.listening ?? undefined);
    expect(Math.abs(listening.measures.f0Hz - 180) / 180).toBeLessThan(0.02);
    expect(listening.sources.find((s: any) => s.field === 'voiceVolume')).toMatchObject({ source: 'MEASURED' });
    expect(listening.voiceVolume).toBe(listening.measures.voiceVolume);
    expect(listening.recording).toEqual({ id: uploadId });
  });
});

describe('refusals', () => {
  it('refuses hostile files at submit with the reason, and keeps nothing of them', async () => {
    const hostile = await hostilePhotos();
    const id = await startConsultation();
    const cases: [Buffer, string, string][] = [
      [hostile.pngBomb, 'image/png', 'TOO_MANY_PIXELS'],
      [hostile.truncatedJpeg, 'image/jpeg', 'TRUNCATED'],
      [hostile.htmlThenJpeg, 'image/jpeg', 'UNSUPPORTED_TYPE'],
      [await tonguePhoto({ bodyColour: 'PALE', coatingColour: 'WHITE', coatingCoverage: 0.2, moisture: 'NORMAL' }), 'image/png', 'TYPE_MISMATCH'],
    ];
    for (const [bytes, type, reason] of cases) {
      const uploadId = await upload(id, 'TONGUE_PHOTO', type, bytes);
      const submitted = await stack.query(
        'mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }',
        { input: { consultationId: id, tonguePhotoUploadId: uploadId } },
        token,
      );
      expect(codes(submitted), reason).toEqual(['BAD_USER_INPUT']);
      expect(submitted.errors?.[0]?.extensions).toMatchObject({ reason, field: 'input.tonguePhotoUploadId' });
      // Words for the person: no path, no library internals, no stack.
      expect(submitted.errors?.[0]?.message).not.toMatch(/\/(tmp|work|home|usr|var)\/|\.data\/|vips|\.[cm]?[jt]s:\d+/i);
      const media = (await consultation(id, MEDIA)).data?.consultation.media.find((m: any) => m.id === uploadId);
      expect(media).toMatchObject({ status: 'FAILED', originalKept: false, failure: { code: 'BAD_USER_INPUT', reason } });
      const download = await stack.query('query($id: ID!) { mediaDownload(id: $id) { url } }', { id: uploadId }, token);
      expect(download.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'NOT_KEPT' });
    }
    // Nothing half-stored: the consultation has no inspection.
    expect((await consultation(id, 'inspection { complexion }')).data?.consultation.inspection).toBeNull();

    // Recordings: a header that lies about its length, a polyglot, one too short, and nothing at all sent.
    const recordings = Object.fromEntries(hostileRecordings().map((r) => [r.name, r]));
    for (const name of ['riff-size-lies', 'polyglot-wav-then-zip', 'half-second', 'zero-byte']) {
      const { bytes, reason } = recordings[name]!;
      const created = await stack.query(CREATE_UPLOAD, { input: { consultationId: id, kind: 'VOICE_RECORDING', contentType: 'audio/wav', byteSize: Math.max(1, bytes.length) } }, token);
      const { uploadId, url, method, headers } = created.data?.createMediaUpload;
      await fetch(url, { method, headers: Object.fromEntries(headers.map((h: { name: string; value: string }) => [h.name, h.value])), body: bytes });
      const submitted = await stack.query(
        'mutation($input: SubmitListeningInput!) { submitListening(input: $input) { id } }',
        { input: { consultationId: id, voiceUploadId: uploadId, cough: 'NONE', odour: 'NONE' } },
        token,
      );
      expect(submitted.errors?.[0]?.extensions, name).toMatchObject({ code: 'BAD_USER_INPUT', reason, field: 'input.voiceUploadId' });
    }
    expect((await consultation(id, 'listening { cough }')).data?.consultation.listening).toBeNull();
    const media = (await consultation(id, MEDIA)).data?.consultation.media;
    expect(media.every((m: any) => m.status === 'FAILED' && !m.originalKept)).toBe(true);
  });

  it('answers a blurry photo, after its analysis, with FAILED and the reason the app shows', async () => {
    const id = await startConsultation();
    const blurry = await tonguePhoto({ bodyColour: 'LIGHT_RED', coatingColour: 'WHITE', coatingCoverage: 0.2, moisture: 'NORMAL', blurSigma: 12 });
    const uploadId = await upload(id, 'TONGUE_PHOTO', 'image/jpeg', blurry);
    const submitted = await stack.query(
      'mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }',
      { input: { consultationId: id, tonguePhotoUploadId: uploadId } },
      token,
    );
    expect(submitted.errors).toBeUndefined();
    const failed = await until('the refusal', async () => (await consultation(id, MEDIA)).data?.consultation.media.find((m: any) => m.status === 'FAILED'));
    expect(failed.failure).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BLURRY' });
    // Submitting it again answers the same refusal at once.
    const again = await stack.query(
      'mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }',
      { input: { consultationId: id, tonguePhotoUploadId: uploadId } },
      token,
    );
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BLURRY' });
  });

  it('refuses declared types and sizes out of bounds before any URL is given, and other users’ consultations and uploads', async () => {
    const id = await startConsultation();
    const wrongType = await stack.query(CREATE_UPLOAD, { input: { consultationId: id, kind: 'TONGUE_PHOTO', contentType: 'image/gif', byteSize: 1000 } }, token);
    expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.contentType' });
    const tooBig = await stack.query(CREATE_UPLOAD, { input: { consultationId: id, kind: 'TONGUE_PHOTO', contentType: 'image/jpeg', byteSize: 8 * 1024 * 1024 + 1 } }, token);
    expect(tooBig.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.byteSize' });
    const other = await stack.query(REGISTER, { input: { email: `other-${Date.now()}@example.com`, password: 'someone-else-2026', displayName: 'Other' } });
    const otherToken = other.data?.register.accessToken;
    const foreign = await stack.query(CREATE_UPLOAD, { input: { consultationId: id, kind: 'TONGUE_PHOTO', contentType: 'image/jpeg', byteSize: 1000 } }, otherToken);
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    const uploadId = await upload(id, 'TONGUE_PHOTO', 'image/jpeg', await tonguePhoto({ bodyColour: 'PALE', coatingColour: 'WHITE', coatingCoverage: 0.2, moisture: 'NORMAL' }));
    const theirs = await startConsultation(otherToken);
    const stolen = await stack.query(
      'mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }',
      { input: { consultationId: theirs, tonguePhotoUploadId: uploadId } },
      otherToken,
    );
    expect(codes(stolen)).toEqual(['NOT_FOUND']);
    expect(userId).toBeTruthy();
  });
});
