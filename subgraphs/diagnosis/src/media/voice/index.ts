/** Voice recordings (闻): submit-time checks, metadata stripping and acoustic analysis. */
export { checkVoice, stripVoice } from './check.js';
export { analyseVoice, CLIPPED_FRACTION_ABOVE, TOO_QUIET_BELOW_DBFS } from './analyse.js';
export {
  BREATHLESS_HNR_BELOW_DB,
  BREATHLESS_VOICED_FRACTION_BELOW,
  VOLUME_LOUD_ABOVE_DBFS,
  VOLUME_LOW_BELOW_DBFS,
} from './classify.js';
export { VOICE_CONTENT_TYPES, VOICE_MAX_BYTES, VOICE_MAX_SECONDS, VOICE_MIN_SECONDS, type VoiceContentType } from './limits.js';
