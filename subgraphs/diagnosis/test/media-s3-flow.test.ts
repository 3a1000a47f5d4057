// The whole media flow on the S3 path (issue 21, "Done when"): the diagnosis subgraph with S3_ENDPOINT set, against
// s3rver, an in-process S3-compatible server from the npm registry. The client PUTs to the bucket's presigned URL,
// submits, the worker strips and analyses, and the original is downloaded from the bucket. What s3rver does not
// enforce (it never checks a V4 signature, hence neither the signed type nor size): see media-store-s3.test.ts.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { until } from '@suoke/platform/testing';
import { tonguePhoto } from '../src/media/synthetic/tongue.js';
import { startDiagnosis } from './harness.js';

const BUCKET = 'suoke-media-flow';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let dir: string;
let server: S3rver;
let admin: S3Client;
let endpoint: string;
let diagnosis: Awaited<ReturnType<typeof startDiagnosis>>;
const owner = { id: randomUUID() };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-s3-flow-'));
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  endpoint = `http://127.0.0.1:${((await server.run()) as AddressInfo).port}`;
  admin = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  diagnosis = await startDiagnosis({
    env: { S3_ENDPOINT: endpoint, S3_BUCKET: BUCKET, S3_ACCESS_KEY_ID: credentials.accessKeyId, S3_SECRET_ACCESS_KEY: credentials.secretAccessKey, JOBS_POLL_INTERVAL_MS: '500' },
  });
});
afterAll(async () => {
  await diagnosis?.close();
  admin?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const keys = async () => ((await admin.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key ?? '');

it('uploads to the bucket, analyses, keeps only the stripped original there, and serves it at a presigned URL', async () => {
  const id = (await diagnosis.gql('mutation { startConsultation { id } }', {}, owner)).data?.startConsultation.id;
  const photo = await tonguePhoto({ bodyColour: 'PURPLE', coatingColour: 'WHITE', coatingCoverage: 0.2, moisture: 'NORMAL', withMetadata: true });
  const created = await diagnosis.gql(
    'mutation($input: CreateMediaUploadInput!) { createMediaUpload(input: $input) { uploadId url method headers { name value } } }',
    { input: { consultationId: id, kind: 'TONGUE_PHOTO', contentType: 'image/jpeg', byteSize: photo.length } },
    owner,
  );
  const { uploadId, url, method, headers } = created.data?.createMediaUpload;
  expect(new URL(url).origin).toBe(endpoint);
  const put = await fetch(url, { method, headers: Object.fromEntries(headers.map((h: { name: string; value: string }) => [h.name, h.value])), body: photo });
  expect(put.status).toBe(200);
  expect(await keys()).toEqual([`uploads/${uploadId}`]);

  const submitted = await diagnosis.gql(
    'mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { media { status } } }',
    { input: { consultationId: id, tonguePhotoUploadId: uploadId, complexion: 'DUSKY' } },
    owner,
  );
  expect(submitted.data?.submitInspection.media[0].status).toBe('ANALYSING');
  const inspection = await until(
    'the analysis',
    async () => (await diagnosis.gql('query($id: ID!) { consultation(id: $id) { inspection { tongue { bodyColour } } } }', { id }, owner)).data?.consultation.inspection ?? undefined,
    30_000,
  );
  expect(inspection.tongue.bodyColour).toBe('PURPLE');
  // The upload (with its EXIF) is gone; the stripped original is kept.
  expect(await keys()).toEqual([`originals/${uploadId}.jpg`]);

  const download = await diagnosis.gql('query($id: ID!) { mediaDownload(id: $id) { url contentType } }', { id: uploadId }, owner);
  expect(new URL(download.data?.mediaDownload.url).origin).toBe(endpoint);
  const served = Buffer.from(await (await fetch(download.data?.mediaDownload.url)).arrayBuffer());
  const metadata = await sharp(served).metadata();
  expect([metadata.format, metadata.exif, metadata.xmp, metadata.icc]).toEqual(['jpeg', undefined, undefined, undefined]);
});
