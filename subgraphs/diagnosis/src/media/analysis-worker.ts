import { MediaRefusal, type MediaKind, type MediaRefusalReason, type TongueAnalysis, type VoiceAnalysis } from './contracts.js';
import { analyseTongue } from './photo/index.js';
import { analyseVoice } from './voice/index.js';

/** What crosses back from a worker thread: a refusal is data there (a class instance does not survive the copy). */
export type WorkerOutcome =
  | { ok: true; analysis: TongueAnalysis | VoiceAnalysis }
  | { ok: false; reason: MediaRefusalReason; message: string };

/** Runs one analysis in a worker thread of the analysis pool (pool.ts). */
export default async function analyseInWorker(task: { kind: MediaKind; bytes: ArrayBuffer }): Promise<WorkerOutcome> {
  const bytes = Buffer.from(task.bytes);
  try {
    const analysis = task.kind === 'TONGUE_PHOTO' ? await analyseTongue(bytes) : await analyseVoice(bytes);
    return { ok: true, analysis };
  } catch (error) {
    if (error instanceof MediaRefusal) return { ok: false, reason: error.reason, message: error.message };
    throw error;
  }
}
