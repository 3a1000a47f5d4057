import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { GATEWAY_SECRET_HEADER, healthSummaryId } from '@suoke/platform';
import { subscribeOverSse, testServiceToken, testSigningKey, testToken, until as untilDefined } from '@suoke/platform/testing';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { syntheticPulse } from '../subgraphs/diagnosis/src/service/synthetic-pulse.js';
import { tonguePhoto } from '../subgraphs/diagnosis/src/media/synthetic/tongue.js';
import { voiceRecording } from '../subgraphs/diagnosis/src/media/synthetic/voice.js';
import { codes, post, randomClientIp, repoRoot, startStack, type GraphQLResponse, type Stack } from './harness.js';
import { postSubscription } from './live-harness.js';
import { bookFirstSlot, ownerReportSource, stackCarePlans } from './care-fixtures.js';
import { collectValues, countRecords, findValues, phiModel, probes, PHI_SUBGRAPHS, type Probe } from './phi.js';

// Issue 8, "Authorization matrix": every field and entity that carries health,
// diagnosis or conversation data × {anonymous, another user, expired token,
// forged identity header, direct subgraph call without the secret} returns 0
// records — through root fields, relationships and `_entities`. What is PHI
// and how to reach it is enumerated from the composed supergraph (tests/phi.ts),
// so a new PHI field or type is probed without touching this file.

const SECRET = 'authz-matrix-gateway-secret-0123456789';
const SUPERGRAPH = readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
const model = phiModel(SUPERGRAPH);

describe('the PHI enumeration', () => {
  it('finds the health, diagnosis and conversation data in the supergraph', () => {
    console.log(`PHI coordinates (${model.coordinates.length}), over ${model.types.length} types:\n  ${model.coordinates.join('\n  ')}`);
    console.log(`public types (not PHI): ${model.publicTypes.join(', ')}`);
    // Sanity minimum: a broken enumeration must not shrink the matrix silently.
    expect(model.coordinates.length).toBeGreaterThanOrEqual(120);
    expect(model.types.length).toBeGreaterThanOrEqual(20);
    for (const anchor of ['Observation', 'HealthProfile', 'ObservationStat', 'Consultation', 'DiagnosisReport', 'Media', 'MediaDownload', 'TongueMeasurement', 'Conversation', 'Message', 'Notification', 'Reminder', 'SeasonalAdvice', 'SeasonFollowing']) {
      expect(model.types, anchor).toContain(anchor);
    }
    for (const seed of ['User.observations', 'User.healthProfile', 'User.healthSummary', 'User.consultations', 'User.latestReport', 'User.conversations', 'User.notifications']) {
      expect(model.seeds, seed).toContain(seed);
    }
    expect(model.rootFields).toEqual(expect.arrayContaining(['Query.mediaDownload', 'Query.consultation', 'Query.conversation', 'Query.reminders', 'Query.seasonalAdvice', 'Query.seasonFollowing']));
    for (const reference of ['Constitution', 'Herb', 'Acupoint', 'Syndrome', 'Article', 'Agent', 'Question', 'SolarTerm']) {
      expect(model.types, reference).not.toContain(reference);
    }
  });

  it('picks up a PHI field or type added later, and probes it through the gateway and _entities', () => {
    const changed = SUPERGRAPH.replace(
      /(type User\n(?: {2}@join__type[^\n]*\n)+\{\n)/,
      '$1  sleepDiary(first: Int): ObservationConnection @join__field(graph: HEALTH) @authenticated\n',
    )
      .replace(/(type Consultation\n(?: {2}@join__type[^\n]*\n)+\{\n)/, '$1  prescription: Prescription\n')
      .concat('\ntype Prescription\n  @join__type(graph: DIAGNOSIS)\n{\n  note: String!\n  herbs: [Herb!]!\n}\n');
    const grown = phiModel(changed);
    expect(grown.coordinates).toEqual(expect.arrayContaining(['User.sleepDiary', 'Consultation.prescription', 'Prescription.note', 'Prescription.herbs']));
    const idFor = () => randomUUID();
    const gateway = probes(grown, 'gateway', { idFor });
    expect(gateway.map((p) => p.path)).toContain('Query.me > User.sleepDiary');
    expect(gateway.filter((p) => p.node === 'Prescription').length).toBeGreaterThanOrEqual(2);
    expect(probes(grown, 'health', { idFor }).map((p) => p.path)).toContain('Query._entities(User) > User.sleepDiary');
    expect(probes(grown, 'diagnosis', { idFor }).map((p) => p.path)).toContain('Query._entities(Consultation) > Consultation.prescription');
  });
});

// ---------------------------------------------------------------------------

const PASSWORD = 'victim-password-correct-horse';
const identityHeaders = (id: string): Record<string, string> => ({
  'x-user-id': id,
  'x-suoke-user': JSON.stringify({ id, roles: ['ADMIN'], scopes: ['health:read:any', 'users:read'] }),
  'x-suoke-user-id': id,
  'x-user': id,
  'x-forwarded-user': id,
  'x-authenticated-userid': id,
  'x-remote-user': id,
  'remote-user': id,
});

interface Caller {
  name: string;
  token?: string;
  /** A delegated token (issue 20), minted afresh when the last one is close to expiry (they live 90 s). */
  mint?: () => Promise<string>;
  headers: Record<string, string>;
}

/** What the agent's credential mints for `userId` (who granted every scope), renewed every 45 s. */
function delegatedFor(userId: string): () => Promise<string> {
  let current: { token: Promise<string>; renewAt: number } | undefined;
  return () => {
    if (!current || Date.now() >= current.renewAt) {
      const token = testServiceToken('agent', ['agent-access:delegate']).then(async (service) => {
        const minted = await stack.query<{ delegateAgentAccess: { token: string } }>('mutation ($u: ID!) { delegateAgentAccess(userId: $u) { token } }', { u: userId }, service);
        if (!minted.data?.delegateAgentAccess) throw new Error(`no delegated token for ${userId}: ${JSON.stringify(minted.errors)}`);
        return minted.data.delegateAgentAccess.token;
      });
      current = { token, renewAt: Date.now() + 45_000 };
    }
    return current.token;
  };
}

let stack: Stack;
let victim: { id: string; token: string };
let attacker: { id: string; token: string };
const victimIds: Record<string, string> = {};
/** The agent's reply to the victim's message (what messageStream streams). */
let victimReplyId = '';
/** Strings and numbers that identify the victim's data, gathered from what the victim was given. */
const victimValues = new Set<string>();

async function gql(token: string | undefined, query: string, variables: Record<string, unknown> = {}) {
  const response = await stack.query(query, variables, token);
  expect(response.errors, `${query.slice(0, 80)}: ${JSON.stringify(response.errors)}`).toBeUndefined();
  return response.data as Record<string, any>;
}

async function register(name: string) {
  const data = await gql(undefined, 'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }', {
    input: { email: `${name}-${randomUUID()}@example.com`, password: PASSWORD, displayName: `${name}-display` },
  });
  return { id: data.register.user.id as string, token: data.register.accessToken as string };
}

/** The victim's records: observations, a profile, a completed consultation (its saga writes a conversation and a notification), a chat. */
async function seedVictim() {
  const recorded = await gql(victim.token, 'mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted observations { id } } }', {
    input: [
      { externalId: 'victim-w-1', type: 'WEIGHT', value: 58.37, recordedAt: new Date(Date.now() - 3_600_000).toISOString(), source: 'victim-scale-7f3a' },
      { externalId: 'victim-bp-1', type: 'BLOOD_PRESSURE', value: 131.5, diastolic: 87.5, recordedAt: new Date(Date.now() - 60_000).toISOString(), source: 'victim-cuff-19c2' },
    ],
  });
  expect(recorded.recordObservations.inserted).toBe(2);
  victimIds.Observation = recorded.recordObservations.observations[0].id;
  await gql(victim.token, 'mutation($input: UpdateHealthProfileInput!) { updateHealthProfile(input: $input) { id } }', {
    input: { sex: 'FEMALE', birthDate: '1987-03-14', heightCm: 163.7, bloodType: 'AB_NEGATIVE', conditions: ['victim-condition-hypothyroidism'] },
  });
  victimIds.User = victim.id;
  victimIds.HealthProfile = victim.id;

  const questions = (await gql(undefined, '{ constitutionQuestionnaire { id reverseScored constitution { code } } }')).constitutionQuestionnaire as {
    id: string;
    reverseScored: boolean;
    constitution: { code: string };
  }[];
  const cancelled = await gql(victim.token, 'mutation { startConsultation(input: { agentId: "laoke" }) { id } }');
  await gql(victim.token, 'mutation($id: ID!) { cancelConsultation(id: $id) { id } }', { id: cancelled.startConsultation.id });
  const started = await gql(victim.token, 'mutation { startConsultation(input: { agentId: "xiaoai" }) { id } }');
  const consultationId = started.startConsultation.id as string;
  victimIds.Consultation = consultationId;
  const answers = questions.map((q) => ({
    questionId: q.id,
    value: q.constitution.code === 'YANG_DEFICIENT' ? 5 : q.constitution.code === 'BALANCED' ? (q.reverseScored ? 4 : 2) : 1,
  }));
  await gql(victim.token, 'mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId, answers } });
  // 望 from a tongue photo (issue 21), every field corrected as the victim sees it: the photo, its measures and its
  // download are the victim's too.
  const photo = await tonguePhoto({ bodyColour: 'PALE', coatingColour: 'WHITE', coatingCoverage: 0.15, moisture: 'WET', width: 480, height: 360 });
  const upload = await gql(
    victim.token,
    'mutation($input: CreateMediaUploadInput!) { createMediaUpload(input: $input) { uploadId url method headers { name value } } }',
    { input: { consultationId, kind: 'TONGUE_PHOTO', contentType: 'image/jpeg', byteSize: photo.length } },
  );
  const { uploadId, url, method, headers } = upload.createMediaUpload;
  await fetch(url, { method, headers: Object.fromEntries(headers.map((h: { name: string; value: string }) => [h.name, h.value])), body: photo });
  victimIds.Media = uploadId;
  victimIds.MediaDownload = uploadId;
  await gql(victim.token, 'mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }', {
    input: {
      consultationId,
      tonguePhotoUploadId: uploadId,
      tongue: { bodyColour: 'PALE', coatingColour: 'WHITE', coatingThickness: 'THIN', moisture: 'WET', teethMarks: true, cracks: false, swollen: true },
      complexion: 'PALE',
    },
  });
  await untilDefined('the victim’s photo analysed', async () => {
    const read = await gql(victim.token, 'query($id: ID!) { consultation(id: $id) { media { status } } }', { id: consultationId });
    return read.consultation.media[0].status === 'ANALYSED' ? true : undefined;
  });
  // And a refused one (a truncated photo), so that the refusal's fields are the victim's data too.
  const refusedPhoto = photo.subarray(0, Math.floor(photo.length / 2));
  const refusedUpload = await gql(
    victim.token,
    'mutation($input: CreateMediaUploadInput!) { createMediaUpload(input: $input) { uploadId url method headers { name value } } }',
    { input: { consultationId, kind: 'TONGUE_PHOTO', contentType: 'image/jpeg', byteSize: refusedPhoto.length } },
  );
  const refused = refusedUpload.createMediaUpload;
  await fetch(refused.url, { method: refused.method, headers: Object.fromEntries(refused.headers.map((h: { name: string; value: string }) => [h.name, h.value])), body: refusedPhoto });
  const refusal = await stack.query('mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { id } }', {
    input: { consultationId, tonguePhotoUploadId: refused.uploadId },
  }, victim.token);
  expect(codes(refusal)).toEqual(['BAD_USER_INPUT']);
  // 闻 from a recording, its two measured fields corrected as the victim chose them.
  const voice = voiceRecording({ f0Hz: 205, seconds: 2, dbfs: -30 });
  const voiceUpload = (
    await gql(
      victim.token,
      'mutation($input: CreateMediaUploadInput!) { createMediaUpload(input: $input) { uploadId url method headers { name value } } }',
      { input: { consultationId, kind: 'VOICE_RECORDING', contentType: 'audio/wav', byteSize: voice.length } },
    )
  ).createMediaUpload;
  await fetch(voiceUpload.url, { method: voiceUpload.method, headers: Object.fromEntries(voiceUpload.headers.map((h: { name: string; value: string }) => [h.name, h.value])), body: voice });
  await gql(victim.token, 'mutation($input: SubmitListeningInput!) { submitListening(input: $input) { id } }', {
    input: { consultationId, voiceUploadId: voiceUpload.uploadId, voiceVolume: 'LOW', breathless: true, cough: 'NONE', odour: 'NONE' },
  });
  await untilDefined('the victim’s recording analysed', async () => {
    const read = await gql(victim.token, 'query($id: ID!) { consultation(id: $id) { listening { measures { f0Hz } } } }', { id: consultationId });
    return read.consultation.listening ? true : undefined;
  });
  const { samples } = syntheticPulse({ sampleRate: 100, seconds: 20, bpm: 54, noise: 0.05, wander: 0.1, amplitude: 0.6, seed: 7 });
  await gql(victim.token, 'mutation($input: SubmitPulseRecordingInput!) { submitPulseRecording(input: $input) { id } }', {
    input: { consultationId, sampleRate: 100, samples: samples.map((v) => Number(v.toFixed(4))) },
  });
  const completed = await gql(victim.token, 'mutation($id: ID!) { completeConsultation(id: $id) { report { id status } } }', { id: consultationId });
  victimIds.DiagnosisReport = completed.completeConsultation.report.id;
  // The saga publishes shortly after when it did not finish within the answer's wait.
  for (let i = 0; i < 60; i += 1) {
    const me = await gql(victim.token, '{ me { latestReport { status } notifications(first: 5) { edges { node { id } } } conversations(first: 5) { edges { node { id } } } } }');
    if (me.me.latestReport?.status === 'PUBLISHED' && me.me.notifications.edges.length > 0 && me.me.conversations.edges.length > 0) break;
    expect(me.me.latestReport?.status, 'the follow-up saga').not.toBe('FAILED');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const sent = await gql(victim.token, 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { conversation { id } message { id } reply { id } } }', {
    input: { agentId: 'laoke', text: '这是受害者的私密消息 victim-private-note-4b1e：我的血压 131.5/87.5 是否偏高？' },
  });
  victimIds.Conversation = sent.sendMessage.conversation.id;
  // 索儿: a reminder (its text names a medicine) and the seasonal messages, reached only through the caller's own root fields.
  const reminder = await gql(victim.token, 'mutation($input: CreateReminderInput!) { createReminder(input: $input) { id } }', {
    input: { text: 'victim-reminder-9d2c 左甲状腺素 50μg', startsAt: '2030-05-01T07:30', timeZone: 'Asia/Shanghai', recurrence: 'DAILY' },
  });
  victimIds.Reminder = reminder.createReminder.id;
  await gql(victim.token, 'mutation { followSeasons(input: { follow: true }) { following } }');
  victimIds.Message = sent.sendMessage.message.id;
  victimReplyId = sent.sendMessage.reply.id;
  // XiaoKe (issue 20): a care plan built from the victim's report, and an appointment.
  victimIds.CarePlan = (await stackCarePlans(stack, ownerReportSource(stack, victim.token)).propose(victim.id)).plan.id;
  victimIds.Appointment = await bookFirstSlot(stack, victim.token, 'victim-booking');
  // Issue 20: the victim lets the agents read everything; the reply cites the victim's summary and report, as a
  // reply built on them is stored (the personal items are then reachable through the gateway and `_entities`).
  await gql(victim.token, 'mutation { grantAgentAccess(input: { scopes: [HEALTH_SUMMARY, HEALTH_PROFILE, REPORTS] }) { version } }');
  const to = new Date();
  victimIds.HealthSummary = healthSummaryId({ userId: victim.id, type: 'WEIGHT', from: new Date(to.getTime() - 7 * 86_400_000), to });
  const citations = [
    { kind: 'HEALTH_SUMMARY', key: victimIds.HealthSummary },
    { kind: 'DIAGNOSIS_REPORT', key: victimIds.DiagnosisReport },
  ];
  await stack.databases.agent!.database.rows(sql`update "agent".messages set citations = citations || ${JSON.stringify(citations)}::jsonb where id = ${victimReplyId}::uuid`);
  for (const id of Object.values(victimIds)) if (id !== victim.id) victimValues.add(id);
  for (const value of ['58.37', '131.5', '87.5', '163.7', 'victim-scale-7f3a', 'victim-cuff-19c2', 'victim-condition-hypothyroidism', 'victim-private-note-4b1e', '1987-03-14', 'victim-reminder-9d2c']) {
    victimValues.add(value);
  }
}

const targets = ['gateway', ...Object.keys(model.graphNames).map((g) => model.graphNames[g]!).sort()];
let probeSets: Record<string, Probe[]> = {};
// Every account has a consent object (`me { agentAccess }`, issue 20), empty or not: another caller reads their own.
// The victim's is still detected, by its values (its timestamps), as every PHI type's are.
const recordTypes = new Set(model.types.filter((t) => !t.endsWith('Connection') && t !== 'AgentAccess'));
const phiTypes = new Set(model.types);

beforeAll(async () => {
  const started = Date.now();
  stack = await startStack({ gatewayEnv: { GATEWAY_SECRET: SECRET }, subgraphEnv: { GATEWAY_SECRET: SECRET } });
  victim = await register('victim');
  attacker = await register('attacker');
  await seedVictim();
  probeSets = Object.fromEntries(targets.map((t) => [t, probes(model, t, { idFor: (type) => victimIds[type] })]));
  console.log(`stack up and victim seeded in ${Date.now() - started} ms; victim ids ${JSON.stringify(victimIds)}`);
}, 300_000);
afterAll(async () => {
  await stack?.stop();
});

/** Runs `tasks` a few at a time: the machine is shared. */
async function pool<T>(tasks: (() => Promise<T>)[], size = 4): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

async function send(target: string, probe: Probe, caller: Caller, withSecret: boolean): Promise<GraphQLResponse<Record<string, unknown>>> {
  const token = caller.mint ? await caller.mint() : caller.token;
  if (target === 'gateway') return stack.query(probe.query, {}, token, caller.headers);
  const headers = { ...caller.headers, ...(withSecret ? { [GATEWAY_SECRET_HEADER]: SECRET, 'x-suoke-client-ip': randomClientIp() } : {}) };
  return post(stack.subgraphUrls[target]!, { query: probe.query }, token, headers);
}

interface Cell {
  probe: Probe;
  caller: string;
  problems: string[];
}

/** 0 records of any PHI type, and none of the victim's values anywhere (an id the caller sent itself may be echoed in an error). */
function inspect(probe: Probe, caller: Caller, response: GraphQLResponse<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const records = countRecords(response.data, recordTypes);
  if (records > 0) problems.push(`${records} record(s) returned: ${JSON.stringify(response.data).slice(0, 300)}`);
  const inData = findValues(response.data ?? null, victimValues);
  if (inData.length) problems.push(`victim values in data: ${inData.join(', ')}`);
  const sent = `${probe.query} ${JSON.stringify(caller.headers)}`;
  const inErrors = findValues(response.errors ?? [], [...victimValues].filter((v) => !sent.includes(v)));
  if (inErrors.length) problems.push(`victim values in errors: ${inErrors.join(', ')}`);
  if (response.status >= 500) problems.push(`HTTP ${response.status}`);
  return problems;
}

describe('authorization matrix', () => {
  it('the victim reads every probed path (the probes reach real data), and no other caller gets any of it', async () => {
    const expired = await testToken({ id: victim.id }, { ttlSeconds: -60 });
    const admin = await testToken({ id: randomUUID(), roles: ['ADMIN'] });
    const hostile: Caller[] = [
      { name: 'anonymous', headers: {} },
      { name: 'another user', token: attacker.token, headers: {} },
      { name: "victim's expired token", token: expired, headers: {} },
      { name: 'forged identity headers, no token', headers: identityHeaders(victim.id) },
      { name: "forged identity headers, another user's token", token: attacker.token, headers: identityHeaders(victim.id) },
      // Issue 20: the agent acting for another user who granted everything reads none of the victim's data.
      { name: "another user's delegated token (all scopes)", mint: delegatedFor(attacker.id), headers: {} },
    ];
    const noSecret: Caller[] = [
      { name: 'no secret, no token', headers: {} },
      { name: "no secret, victim's valid token", token: victim.token, headers: {} },
      { name: 'no secret, forged identity headers', headers: identityHeaders(victim.id) },
      { name: "wrong secret, victim's valid token", token: victim.token, headers: { [GATEWAY_SECRET_HEADER]: `${SECRET}-not` } },
    ];
    const owner: Caller = { name: 'victim', token: victim.token, headers: {} };

    // 1. Controls: the victim (or, on an operator's path, an admin) gets records of each probe's node type.
    const verified = new Map<string, Set<string>>(); // coordinate → path classes verified with data
    const unverified: string[] = [];
    const classOf = (probe: Probe) =>
      probe.target === 'gateway' ? (probe.path.includes(' > ') ? 'gateway relationship' : 'gateway root field') : probe.entry === 'entities' ? '_entities' : 'subgraph root';
    const controls: { probe: Probe; response: GraphQLResponse<Record<string, unknown>> }[] = [];
    const readable = targets.flatMap((target) => probeSets[target]!.filter((p) => p.entry !== 'gateway-entities').map((probe) => ({ target, probe })));
    await pool(
      readable.map(({ target, probe }) => async () => {
        let response = await send(target, probe, owner, true);
        let found = countRecords(response.data, new Set([probe.node]));
        // Some paths are an operator's (`users`, the audit log): an admin reads them.
        if (found === 0) {
          response = await send(target, probe, { name: 'admin', token: admin, headers: {} }, true);
          found = countRecords(response.data, new Set([probe.node]));
        }
        if (found === 0) {
          unverified.push(`${target}: ${probe.path} → ${probe.node}: ${JSON.stringify(response.errors ?? response.data).slice(0, 200)}`);
          return;
        }
        collectValues(response.data, phiTypes, victimValues);
        controls.push({ probe, response });
        for (const coordinate of probe.coordinates) {
          const classes = verified.get(coordinate) ?? new Set<string>();
          classes.add(classOf(probe));
          verified.set(coordinate, classes);
        }
      }),
    );
    console.log(`unverified probes (no data for the victim nor an admin on this path: still probed below):\n  ${unverified.join('\n  ') || '(none)'}`);
    // A type's name (an audit event's record type, say) is schema, not the victim's data.
    for (const value of victimValues) if (model.schema.getType(value)) victimValues.delete(value);
    console.log(`victim values searched for: ${victimValues.size}`);
    // Every coordinate is read with data through the gateway, and through `_entities` when an entity leads to it. A
    // probe may go unread (only the account holder reads notifications, and never through `users`) when what it
    // selects is read on another path.
    const throughEntities = new Set(targets.flatMap((t) => probeSets[t]!.filter((p) => p.entry === 'entities').flatMap((p) => p.coordinates)));
    for (const coordinate of model.coordinates) {
      const classes = verified.get(coordinate) ?? new Set();
      expect([...classes].some((c) => c.startsWith('gateway')), `${coordinate} read by the victim or an admin through the gateway`).toBe(true);
      if (throughEntities.has(coordinate)) expect(classes.has('_entities'), `${coordinate} read by the victim through _entities`).toBe(true);
    }
    expect(victimValues.size).toBeGreaterThanOrEqual(50);
    // The detector itself: what the victim was given, seen as another caller's answer, is a leak on every path.
    const missed = controls.filter(({ probe, response }) => inspect(probe, owner, response).length === 0).map(({ probe }) => `${probe.target}: ${probe.path}`);
    expect(missed).toEqual([]);

    // 2. The matrix.
    const jobs: (() => Promise<Cell>)[] = [];
    let cells = 0;
    const cellsByCaller: Record<string, number> = {};
    const cellsByClass: Record<string, number> = {};
    const schedule = (
      target: string,
      probe: Probe,
      caller: Caller,
      withSecret: boolean,
      check: (r: GraphQLResponse<Record<string, unknown>>) => string[],
      /** The victim's own (delegated) token: what it may read is the check's to judge, not a leak. */
      own = false,
    ) => {
      const name = target === 'gateway' ? caller.name : withSecret ? `${caller.name} (as the gateway, with the secret)` : caller.name;
      const size = Math.max(probe.coordinates.length, 1);
      cells += size;
      cellsByCaller[name] = (cellsByCaller[name] ?? 0) + size;
      const cls = probe.entry === 'gateway-entities' ? 'gateway _entities' : classOf(probe);
      cellsByClass[cls] = (cellsByClass[cls] ?? 0) + size;
      jobs.push(async () => {
        const response = await send(target, probe, caller, withSecret);
        return { probe, caller: name, problems: [...(own ? [] : inspect(probe, caller, response)), ...check(response)] };
      });
    };
    const none = () => [];
    const refusedWithoutSecret = (r: GraphQLResponse<Record<string, unknown>>) =>
      r.status === 401 && codes(r).join() === 'UNAUTHENTICATED' ? [] : [`expected 401 UNAUTHENTICATED without the secret, got ${r.status} ${codes(r).join()}`];
    // Not in the public graph: a validation failure (or, for a token the gateway refuses outright, 401 before validation).
    const notInGraph = (r: GraphQLResponse<Record<string, unknown>>) =>
      (r.status === 400 && codes(r).join() === 'GRAPHQL_VALIDATION_FAILED') || (r.status === 401 && codes(r).join() === 'UNAUTHENTICATED')
        ? []
        : [`_entities through the gateway: expected 400 GRAPHQL_VALIDATION_FAILED, got ${r.status} ${codes(r).join()}`];
    for (const target of targets) {
      for (const probe of probeSets[target]!) {
        if (target === 'gateway') {
          for (const caller of probe.entry === 'gateway-entities' ? [...hostile, owner] : hostile) {
            schedule(target, probe, caller, false, probe.entry === 'gateway-entities' ? notInGraph : none);
          }
        } else {
          for (const caller of hostile) schedule(target, probe, caller, true, none);
          for (const caller of noSecret) schedule(target, probe, caller, false, refusedWithoutSecret);
        }
      }
    }
    // Issue 20: the victim's own delegated token reads, on every path, only what the agent may read for its scopes:
    // never an observation one by one, a consultation, a conversation, a message, a notification, the free-text
    // conditions or an audit event. Its tokens are attacker.delegated's kind, so the matrix above covers other users.
    await gql(attacker.token, 'mutation { grantAgentAccess(input: { scopes: [HEALTH_SUMMARY, HEALTH_PROFILE, REPORTS] }) { version } }');
    const neverDelegated = [
      'victim-condition-hypothyroidism',
      'victim-private-note-4b1e',
      'victim-scale-7f3a',
      'victim-cuff-19c2',
      ...['Observation', 'Consultation', 'Conversation', 'Message'].map((type) => victimIds[type]!),
    ];
    const delegatedTypes = new Set(['ObservationStat', 'HealthProfile', 'HealthSummary', 'DiagnosisReport', 'ReportScore', 'Finding']);
    let delegatedReads = 0;
    const onlyGranted = (probe: Probe) => (r: GraphQLResponse<Record<string, unknown>>) => {
      const problems: string[] = [];
      const outside = countRecords(r.data, new Set([...recordTypes].filter((t) => !delegatedTypes.has(t))));
      if (outside > 0) problems.push(`${outside} record(s) outside the granted data: ${JSON.stringify(r.data).slice(0, 300)}`);
      const leaked = findValues(r.data ?? null, neverDelegated.filter((v) => !probe.query.includes(v)));
      if (leaked.length) problems.push(`never-granted victim values: ${leaked.join(', ')}`);
      if (r.status >= 500 || codes(r).includes('INTERNAL_SERVER_ERROR')) problems.push(`HTTP ${r.status} ${codes(r).join()}`);
      delegatedReads += countRecords(r.data, delegatedTypes);
      return problems;
    };
    const victimDelegated: Caller = { name: "victim's own delegated token (all scopes)", mint: delegatedFor(victim.id), headers: {} };
    for (const target of targets) {
      for (const probe of probeSets[target]!) if (probe.entry !== 'gateway-entities') schedule(target, probe, victimDelegated, target !== 'gateway', onlyGranted(probe), true);
    }

    const started = Date.now();
    const results = await pool(jobs);
    // The control: the victim's delegated token did read its granted data on some paths.
    expect(delegatedReads).toBeGreaterThan(0);
    const leaks = results.filter((r) => r.problems.length > 0);
    const probeCount = targets.reduce((n, t) => n + probeSets[t]!.length, 0);
    console.log(
      [
        `authorization matrix: ${model.coordinates.length} PHI coordinates, ${probeCount} probe paths (${targets.map((t) => `${t} ${probeSets[t]!.length}`).join(', ')}),`,
        `  ${jobs.length} requests, ${cells} cells (coordinate × path × caller) in ${Date.now() - started} ms`,
        `  by path: ${JSON.stringify(cellsByClass)}`,
        `  by caller: ${JSON.stringify(cellsByCaller)}`,
        `  leaks: ${leaks.length}`,
      ].join('\n'),
    );
    for (const leak of leaks.slice(0, 30)) console.log(`LEAK ${leak.probe.target} ${leak.probe.path} → ${leak.probe.node} as ${leak.caller}: ${leak.problems.join('; ')}`);
    expect(jobs.length).toBeGreaterThan(1000);
    expect(leaks.map((l) => `${l.probe.target} ${l.probe.path} as ${l.caller}: ${l.problems.join('; ')}`)).toEqual([]);
  }, 900_000);

  it('covers every PHI subgraph directly, and every PHI coordinate on some path', () => {
    for (const name of PHI_SUBGRAPHS) expect(probeSets[name]!.filter((p) => p.entry === 'entities').length, name).toBeGreaterThan(0);
    const probed = new Set(targets.flatMap((t) => probeSets[t]!.flatMap((p) => p.coordinates)));
    expect(model.coordinates.filter((c) => !probed.has(c))).toEqual([]);
  });
});


// Subscriptions. Through the gateway they run over GraphQL over WebSocket (below, every Subscription field × every
// caller); over POST without a streaming transport the gateway refuses them. On the subgraphs they are served at
// /graphql/stream, where ownership is also tested field by field in the files named here.
const SUBSCRIPTION_TESTS: Record<string, string> = {
  'Subscription.reportUpdated': 'subgraphs/diagnosis/test/live.test.ts',
  'Subscription.consultationUpdated': 'subgraphs/diagnosis/test/media-flow.test.ts',
  'Subscription.notificationAdded': 'subgraphs/user/test/live.test.ts',
};

/**
 * Each Subscription field as the victim would subscribe to it, through the gateway. A field without a row fails the
 * matrix until one is written. `messageStream` (the agent's streamed reply, contract in issue 19) is written ahead:
 * its row runs once the field is in the supergraph.
 */
const WS_ROWS: Record<string, { query: string; variables: () => Record<string, unknown>; root: string }> = {
  'Subscription.reportUpdated': {
    query: 'subscription ($id: ID!) { reportUpdated(id: $id) { __typename id status statusReason } }',
    variables: () => ({ id: victimIds.DiagnosisReport }),
    root: 'reportUpdated',
  },
  'Subscription.consultationUpdated': {
    query: 'subscription ($id: ID!) { consultationUpdated(id: $id) { __typename id status media { id status } } }',
    variables: () => ({ id: victimIds.Consultation }),
    root: 'consultationUpdated',
  },
  'Subscription.notificationAdded': { query: 'subscription { notificationAdded { __typename id title body reportId } }', variables: () => ({}), root: 'notificationAdded' },
  'Subscription.messageStream': {
    query: 'subscription ($id: ID!) { messageStream(messageId: $id) { __typename messageId delta done message { __typename id text } } }',
    variables: () => ({ id: victimReplyId }),
    root: 'messageStream',
  },
};

type WsPayload = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** One subscription over graphql-ws to the gateway with these connection params; closed by `dispose`. */
function wsSubscribe(connectionParams: Record<string, unknown>, query: string, variables: Record<string, unknown>) {
  const closed: { code: number; reason: string }[] = [];
  const client = createClient({
    url: stack.gatewayUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams,
    on: { closed: (event) => closed.push({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
  });
  const received: WsPayload[] = [];
  const state: { completed: boolean; error?: unknown } = { completed: false };
  client.subscribe({ query, variables }, { next: (value) => received.push(value as WsPayload), error: (error) => (state.error = error), complete: () => (state.completed = true) });
  return {
    received,
    state,
    closed,
    ended: () => state.completed || state.error !== undefined,
    /** Every error code the caller met: in events, in the refusal at subscribe, and in a close of the socket ("CODE: reason"). */
    codes: () => [
      ...received.flatMap((p) => (p.errors ?? []).map((e) => String(e.extensions?.code))),
      ...(Array.isArray(state.error) ? (state.error as WsPayload['errors'] & object).map((e) => String(e.extensions?.code)) : []),
      ...closed.filter((c) => c.code >= 4000).map((c) => `${c.code} ${c.reason.split(':')[0]}`),
    ],
    dispose: () => client.dispose(),
  };
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return condition();
}

describe('subscriptions in the matrix', () => {
  const fields = Object.values(model.schema.getSubscriptionType()?.getFields() ?? {});
  const subscriptionOf = (name: string) =>
    name === 'reportUpdated' || name === 'consultationUpdated'
      ? `subscription { ${name}(id: "${randomUUID()}") { id status } }`
      : name === 'messageStream'
        ? `subscription { messageStream(messageId: "${randomUUID()}") { messageId delta done } }`
        : `subscription { ${name} { __typename } }`;

  it('every Subscription field of the supergraph has a row in the WebSocket matrix; those with a subgraph-level ownership test name it', () => {
    expect(fields.map((f) => `Subscription.${f.name}`).filter((c) => !WS_ROWS[c])).toEqual([]);
    for (const [coordinate, file] of Object.entries(SUBSCRIPTION_TESTS)) {
      expect(fields.map((f) => `Subscription.${f.name}`), coordinate).toContain(coordinate);
      expect(readFileSync(path.join(repoRoot, file), 'utf8')).toMatch(/NOT_FOUND|never another user/);
    }
  });

  it('through the gateway over WebSocket, every Subscription field × every caller: the victim gets the data, no other caller any of it', async () => {
    const forgedKey = testSigningKey('forger');
    const unsigned = (id: string) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: id, roles: ['ADMIN'], iss: 'suoke-life', aud: 'suoke-app', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.`;
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const hostile: { name: string; params: Record<string, unknown>; stays?: boolean }[] = [
      { name: 'anonymous', params: {} },
      { name: 'another user', params: bearer(attacker.token), stays: true },
      { name: "victim's expired token", params: bearer(await testToken({ id: victim.id }, { ttlSeconds: -60 })) },
      { name: 'forged token (victim, ADMIN, signed with an untrusted key)', params: bearer(await testToken({ id: victim.id, roles: ['ADMIN'] }, { key: forgedKey })) },
      { name: 'unsigned token (alg none)', params: bearer(unsigned(victim.id)) },
      { name: 'forged identity in connection params, no token', params: { ...identityHeaders(victim.id), headers: identityHeaders(victim.id) } },
      { name: "forged identity with another user's token", params: { ...bearer(attacker.token), ...identityHeaders(victim.id), headers: identityHeaders(victim.id) }, stays: true },
      // Issue 20: a delegated token never subscribes, not even to its own user's streams.
      { name: "the victim's delegated token (all scopes)", params: bearer(await delegatedFor(victim.id)()) },
    ];
    const service = await testServiceToken('diagnosis', ['notifications:write']);
    const userStreams = () => stack.instances.user!.reduce((n, i) => n + i.openStreams(), 0);
    const problems: string[] = [];
    const rows: string[] = [];
    for (const field of fields) {
      const coordinate = `Subscription.${field.name}`;
      const row = WS_ROWS[coordinate]!;
      const owner = wsSubscribe(bearer(victim.token), row.query, row.variables());
      const others = hostile.map((caller) => ({ caller, sub: wsSubscribe(caller.params, row.query, row.variables()) }));
      try {
        // Refusals first: each hostile caller but one that may legitimately hold the field for itself ends.
        await until(() => others.every(({ caller, sub }) => sub.ended() || (caller.stays && field.name === 'notificationAdded')), 10_000);
        if (field.name === 'notificationAdded') {
          // The victim's and the other user's streams open on the user subgraph, then notifications for the victim.
          await until(() => userStreams() >= 2, 10_000);
          const title = `victim-notification-${randomUUID()}`;
          victimValues.add(title);
          for (let i = 0; i < 50 && owner.received.length === 0 && !owner.ended(); i += 1) {
            const input = { userId: victim.id, kind: 'REPORT_READY', title, body: title, reportId: randomUUID(), key: `matrix-${randomUUID()}` };
            const answer = await stack.query('mutation ($input: PostNotificationInput!) { postNotification(input: $input) { id } }', { input }, service);
            expect(codes(answer)).toEqual([]);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          await new Promise((resolve) => setTimeout(resolve, 300));
        } else {
          await until(() => owner.received.length > 0 || owner.ended(), 10_000);
        }
        // The control: the victim got its own record.
        const own = countRecords(owner.received.map((p) => p.data), recordTypes) + countRecords(owner.received.map((p) => p.data), new Set(['MessageStreamEvent']));
        if (own === 0) problems.push(`${coordinate} as the victim: no data (${JSON.stringify(owner.received).slice(0, 200)} ${JSON.stringify(owner.state.error)})`);
        for (const { caller, sub } of others) {
          const seen = sub.codes();
          rows.push(`${coordinate} × ${caller.name}: ${sub.ended() ? `ended ${seen.join(',') || '(no code)'}` : `open, ${sub.received.length} events`}`);
          const data = sub.received.map((p) => p.data ?? null);
          const records = countRecords(data, recordTypes) + countRecords(data, new Set(['MessageStreamEvent']));
          if (records > 0) problems.push(`${coordinate} as ${caller.name}: ${records} record(s): ${JSON.stringify(data).slice(0, 200)}`);
          // An id the caller sent itself (the victim's report id) may be echoed in an error, never in data.
          const sent = JSON.stringify(row.variables());
          const leaked = [...findValues(data, victimValues), ...findValues(sub.received.map((p) => p.errors ?? []), [...victimValues].filter((v) => !sent.includes(v)))];
          if (leaked.length) problems.push(`${coordinate} as ${caller.name}: victim values ${leaked.join(', ')}`);
          if (seen.includes('INTERNAL_SERVER_ERROR')) problems.push(`${coordinate} as ${caller.name}: a masked INTERNAL_SERVER_ERROR`);
          const refused = seen.some((c) => /^(UNAUTHENTICATED|NOT_FOUND|FORBIDDEN|4403 UNAUTHENTICATED)$/.test(c));
          // The other user may hold notificationAdded (its own); it must then have received nothing.
          const mayStay = caller.stays && field.name === 'notificationAdded';
          if (!refused && !(mayStay && !sub.ended() && sub.received.length === 0)) problems.push(`${coordinate} as ${caller.name}: expected a refusal, got ${JSON.stringify({ codes: seen, received: sub.received, state: sub.state }).slice(0, 300)}`);
        }
      } finally {
        await Promise.all([owner, ...others.map((o) => o.sub)].map((s) => s.dispose()));
      }
    }
    console.log(`subscriptions over WebSocket: ${fields.length} fields × ${hostile.length} hostile callers\n  ${rows.join('\n  ')}`);
    expect(rows.length).toBe(fields.length * hostile.length);
    expect(problems).toEqual([]);
  }, 120_000);

  it('through the gateway over multipart HTTP and SSE, every Subscription field: another user gets none of the victim\'s data, a bad token is 401', async () => {
    const transports = { multipart: 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json', sse: 'text/event-stream' };
    const expired = await testToken({ id: victim.id }, { ttlSeconds: -60 });
    const forged = await testToken({ id: victim.id, roles: ['ADMIN'] }, { key: testSigningKey('forger-http') });
    const problems: string[] = [];
    for (const field of fields) {
      const row = WS_ROWS[`Subscription.${field.name}`]!;
      const body = { query: row.query, variables: row.variables() };
      for (const [transport, accept] of Object.entries(transports)) {
        const where = `Subscription.${field.name} over ${transport}`;
        for (const [name, token] of [['anonymous', undefined], ['expired', expired], ['forged', forged]] as const) {
          const refused = await postSubscription(stack.gatewayUrl, body, { accept, ...(token ? { token } : {}) });
          const code = (refused.json as WsPayload | undefined)?.errors?.[0]?.extensions?.code;
          // A stream that opened for them would be the failure; anonymous may get a stream that ends with UNAUTHENTICATED.
          if (refused.status === 200) {
            await until(() => refused.ended() || refused.parts.some((p) => JSON.stringify(p).includes('UNAUTHENTICATED')), 5_000);
            if (!JSON.stringify(refused.parts).includes('UNAUTHENTICATED')) problems.push(`${where} as ${name}: ${refused.raw().slice(0, 200)}`);
            refused.abort();
          } else if (refused.status !== 401 || code !== 'UNAUTHENTICATED') problems.push(`${where} as ${name}: ${refused.status} ${code}`);
        }
        const stolen = await postSubscription(stack.gatewayUrl, body, { accept, token: attacker.token });
        if (stolen.status !== 200) {
          problems.push(`${where} as another user: ${stolen.status}`);
          continue;
        }
        // Refused in the stream (NOT_FOUND), or, for another user's own notifications, open with nothing of the victim's.
        await until(() => stolen.ended() || stolen.parts.some((p) => JSON.stringify(p).includes('NOT_FOUND')), field.name === 'notificationAdded' ? 1_000 : 5_000);
        const seen = stolen.raw();
        stolen.abort();
        const sent = JSON.stringify(body);
        const leaked = [...victimValues].filter((value) => !sent.includes(value) && seen.includes(value));
        if (leaked.length > 0) problems.push(`${where} as another user leaked ${leaked.join()}`);
        if (field.name !== 'notificationAdded' && !seen.includes('NOT_FOUND')) problems.push(`${where} as another user: no NOT_FOUND in ${seen.slice(0, 200)}`);
        if (seen.includes('INTERNAL_SERVER_ERROR')) problems.push(`${where}: masked INTERNAL_SERVER_ERROR`);
      }
    }
    expect(problems).toEqual([]);
  }, 60_000);

  it('through the gateway, a subscription over plain POST is refused with 400 SUBSCRIPTION_TRANSPORT_REQUIRED for every caller', async () => {
    const expired = await testToken({ id: victim.id }, { ttlSeconds: -60 });
    for (const field of fields) {
      for (const token of [undefined, attacker.token, victim.token]) {
        const response = await stack.query(subscriptionOf(field.name), {}, token);
        expect([response.status, codes(response).join()], field.name).toEqual([400, 'SUBSCRIPTION_TRANSPORT_REQUIRED']);
        expect(response.data ?? null).toBeNull();
      }
      const stale = await stack.query(subscriptionOf(field.name), {}, expired);
      expect([stale.status, codes(stale).join()]).toEqual([401, 'UNAUTHENTICATED']);
    }
  });

  it("on the diagnosis subgraph's stream, another user gets NOT_FOUND for the victim's report, the victim gets it; no secret is 403", async () => {
    const latest = await gql(victim.token, '{ me { latestReport { id } } }');
    const reportId = latest.me.latestReport.id as string;
    const asGateway = () => ({ [GATEWAY_SECRET_HEADER]: SECRET, 'x-suoke-client-ip': randomClientIp() });
    const query = 'subscription ($id: ID!) { reportUpdated(id: $id) { id status } }';
    const stolen = subscribeOverSse<any>(stack.subgraphUrls.diagnosis!, query, { id: reportId }, { caller: attacker.token, headers: asGateway() });
    const refused = await stolen.next();
    expect([refused?.data?.reportUpdated ?? null, refused?.errors?.map((e) => e.extensions?.code)]).toEqual([null, ['NOT_FOUND']]);
    const own = subscribeOverSse<any>(stack.subgraphUrls.diagnosis!, query, { id: reportId }, { caller: victim.token, headers: asGateway() });
    expect((await own.next())?.data?.reportUpdated.id).toBe(reportId);
    own.dispose();
    const noSecret = subscribeOverSse<any>(stack.subgraphUrls.diagnosis!, query, { id: reportId }, { caller: victim.token, headers: {} });
    expect(((await noSecret.ended).error as { response?: { status: number } } | undefined)?.response?.status).toBe(403);
  });
});

describe("索儿's mutations on another user's reminder", () => {
  it('cancelReminder by anyone but the owner is refused (NOT_FOUND or UNAUTHENTICATED) and the reminder keeps firing', async () => {
    const expired = await testToken({ id: victim.id }, { ttlSeconds: -60 });
    const callers: { name: string; token?: string; headers?: Record<string, string> }[] = [
      { name: 'anonymous' },
      { name: 'another user', token: attacker.token },
      { name: "victim's expired token", token: expired },
      { name: 'forged identity headers', headers: identityHeaders(victim.id) },
      { name: "forged identity with another user's token", token: attacker.token, headers: identityHeaders(victim.id) },
    ];
    for (const caller of callers) {
      const answer = await stack.query('mutation($id: ID!) { cancelReminder(input: { id: $id }) { id status text } }', { id: victimIds.Reminder }, caller.token, caller.headers);
      expect(answer.data?.cancelReminder ?? null, caller.name).toBeNull();
      expect(codes(answer).some((c) => c === 'NOT_FOUND' || c === 'UNAUTHENTICATED'), `${caller.name}: ${JSON.stringify(answer.errors)}`).toBe(true);
      // The id the caller sent may be echoed in the error; nothing else of the victim's.
      expect(findValues(answer, [...victimValues].filter((v) => v !== victimIds.Reminder)), caller.name).toEqual([]);
    }
    const own = await gql(victim.token, '{ reminders { edges { node { id status } } } }');
    expect(own.reminders.edges).toEqual([{ node: { id: victimIds.Reminder, status: 'ACTIVE' } }]);
  });
});
