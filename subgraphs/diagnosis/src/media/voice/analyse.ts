/** The listening (闻) analysis of a voice recording (issue 21, Analysis › Voice recording). */
import { MediaRefusal, type VoiceAnalysis } from '../contracts.js';
import { classifyBreathless, classifyVolume } from './classify.js';
import { perturbation } from './perturbation.js';
import { analyseFrames, hnrDb, HOP_SECONDS } from './pitch.js';
import { decimate, mixToMono, rms, toDb } from './signal.js';
import { decodeVoice, sniffVoice } from './sniff.js';

/** Voiced RMS below this cannot be measured reliably. */
export const TOO_QUIET_BELOW_DBFS = -50;
/** More clipped samples than this share of the voiced time is heavy clipping. */
export const CLIPPED_FRACTION_ABOVE = 0.01;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function clippedSamples(channels: Float32Array[], clipLevel: number): number {
  let clipped = 0;
  for (const channel of channels) for (let i = 0; i < channel.length; i++) if (Math.abs(channel[i]!) >= clipLevel) clipped++;
  return clipped / channels.length;
}

/** Decode, measure and classify a voice recording. Throws MediaRefusal (file checks, NO_VOICE, TOO_QUIET, CLIPPED). */
export async function analyseVoice(bytes: Buffer): Promise<VoiceAnalysis> {
  const decoded = await decodeVoice(bytes, await sniffVoice(bytes));
  const mono = mixToMono(decoded.channels);
  const durationSeconds = mono.length / decoded.sampleRate;
  const { samples, sampleRate } = decimate(mono, decoded.sampleRate);
  const frames = analyseFrames(samples, sampleRate);
  const voiced = frames.filter((f) => f.f0Hz !== null);
  if (voiced.length === 0) {
    throw new MediaRefusal('NO_VOICE', 'No voice was heard in the recording. Please say a long "aaa" close to the microphone.');
  }
  const hop = Math.round(HOP_SECONDS * sampleRate);
  // Level of the voiced frames: the RMS over their hops together, on the full-rate signal.
  const scale = decoded.sampleRate / sampleRate;
  let energy = 0;
  let count = 0;
  for (const frame of voiced) {
    const from = Math.round((frame.centre - hop / 2) * scale);
    const to = Math.round((frame.centre + hop / 2) * scale);
    energy += rms(mono, from, to) ** 2 * (to - from);
    count += to - from;
  }
  const rmsDbfs = toDb(Math.sqrt(energy / count));
  if (rmsDbfs < TOO_QUIET_BELOW_DBFS) {
    throw new MediaRefusal('TOO_QUIET', 'The voice is too quiet to measure. Please hold the phone closer and speak up a little.');
  }
  const voicedSeconds = voiced.length * HOP_SECONDS;
  if (clippedSamples(decoded.channels, decoded.clipLevel) / decoded.sampleRate > CLIPPED_FRACTION_ABOVE * voicedSeconds) {
    throw new MediaRefusal('CLIPPED', 'The recording is distorted because it is too loud. Please hold the phone a little further away.');
  }
  const { jitterPercent, shimmerPercent } = perturbation(samples, frames, sampleRate, hop);
  const measures: VoiceAnalysis['measures'] = {
    durationSeconds,
    sampleRate: decoded.sampleRate,
    rmsDbfs,
    f0Hz: median(voiced.map((f) => f.f0Hz!)),
    jitterPercent,
    shimmerPercent,
    hnrDb: voiced.reduce((sum, f) => sum + hnrDb(f.periodicity), 0) / voiced.length,
    voicedFraction: voiced.length / frames.length,
  };
  return { voiceVolume: classifyVolume(rmsDbfs), breathless: classifyBreathless(measures), measures };
}
