/**
 * The nine constitutions (体质) of TCM constitution theory, by the codes the
 * knowledge subgraph keys `Constitution` on. This subgraph only refers to
 * them; names here serve messages and the advice summary, the knowledge
 * subgraph owns the full descriptions.
 */
export const CONSTITUTION_CODES = [
  'BALANCED',
  'QI_DEFICIENT',
  'YANG_DEFICIENT',
  'YIN_DEFICIENT',
  'PHLEGM_DAMP',
  'DAMP_HEAT',
  'BLOOD_STASIS',
  'QI_STAGNATION',
  'INHERITED_SPECIAL',
] as const;

export type ConstitutionCode = (typeof CONSTITUTION_CODES)[number];

/** Every constitution except BALANCED: the "biased" (偏颇) types. */
export type BiasedConstitution = Exclude<ConstitutionCode, 'BALANCED'>;

export const BIASED_CONSTITUTIONS = CONSTITUTION_CODES.filter((c): c is BiasedConstitution => c !== 'BALANCED');

export function isConstitutionCode(value: string): value is ConstitutionCode {
  return (CONSTITUTION_CODES as readonly string[]).includes(value);
}

interface ConstitutionInfo {
  name: string;
  nameEn: string;
  /** One sentence of everyday advice, Chinese and English, used in report summaries. */
  advice: string;
  adviceEn: string;
}

export const CONSTITUTIONS: Record<ConstitutionCode, ConstitutionInfo> = {
  BALANCED: {
    name: '平和质',
    nameEn: 'balanced',
    advice: '保持规律作息、饮食有节、适度运动，顺应四时调养即可。',
    adviceEn: 'Keep regular hours, eat in moderation, stay active and adjust to the seasons.',
  },
  QI_DEFICIENT: {
    name: '气虚质',
    nameEn: 'qi-deficient',
    advice: '宜多食山药、大枣等益气健脾之品，运动以散步、太极等和缓项目为主，避免过劳和大汗。',
    adviceEn: 'Favour qi-strengthening foods such as Chinese yam and jujube, choose gentle exercise like walking or tai chi, and avoid overwork and heavy sweating.',
  },
  YANG_DEFICIENT: {
    name: '阳虚质',
    nameEn: 'yang-deficient',
    advice: '注意保暖，尤其腰腹与足部；少食生冷，可适量温补，多晒太阳，运动宜在阳光充足时进行。',
    adviceEn: 'Keep warm, especially the lower back, abdomen and feet; avoid cold and raw food, take warming foods in moderation and exercise in the sun.',
  },
  YIN_DEFICIENT: {
    name: '阴虚质',
    nameEn: 'yin-deficient',
    advice: '宜食百合、银耳、梨等滋阴润燥之品，少食辛辣煎炸，保证睡眠，避免熬夜和剧烈出汗。',
    adviceEn: 'Favour moistening foods such as lily bulb, white fungus and pears, limit spicy and fried food, sleep enough and avoid late nights and heavy sweating.',
  },
  PHLEGM_DAMP: {
    name: '痰湿质',
    nameEn: 'phlegm-damp',
    advice: '饮食清淡，少食肥甘厚味与甜食，控制体重，坚持中等强度的有氧运动，居处避免潮湿。',
    adviceEn: 'Eat light food, cut down on rich, greasy and sweet dishes, keep your weight in check with regular moderate aerobic exercise, and avoid damp living spaces.',
  },
  DAMP_HEAT: {
    name: '湿热质',
    nameEn: 'damp-heat',
    advice: '饮食宜清淡，可多食绿豆、冬瓜、薏苡仁，戒烟限酒，少食辛辣油腻，保持皮肤清洁与大便通畅。',
    adviceEn: 'Eat light food such as mung beans, winter melon and coix seed, stop smoking and limit alcohol, avoid spicy and greasy food, and keep skin clean and bowels regular.',
  },
  BLOOD_STASIS: {
    name: '血瘀质',
    nameEn: 'blood-stasis',
    advice: '多做促进气血运行的活动，如快走、舞蹈、八段锦；可适量食用山楂、黑木耳，注意保暖，保持心情舒畅。',
    adviceEn: 'Keep qi and blood moving with brisk walking, dancing or baduanjin; hawthorn and black fungus suit you; keep warm and stay cheerful.',
  },
  QI_STAGNATION: {
    name: '气郁质',
    nameEn: 'qi-stagnation',
    advice: '多参加集体和户外活动，培养兴趣，适当倾诉；可饮玫瑰花、陈皮等理气之品，保证睡眠。',
    adviceEn: 'Join group and outdoor activities, cultivate interests and talk things through; rose-bud or tangerine-peel tea helps qi flow; sleep enough.',
  },
  INHERITED_SPECIAL: {
    name: '特禀质',
    nameEn: 'inherited-special',
    advice: '避开已知过敏原，季节交替时注意防护；饮食清淡均衡，少食易致敏食物，增强体质以固护卫气。',
    adviceEn: 'Avoid known allergens and take care at the turn of seasons; eat a light, balanced diet without foods that trigger you, and build up your defences.',
  },
};

/** Position in the canonical order, for stable sorting. */
export function constitutionRank(code: ConstitutionCode): number {
  return CONSTITUTION_CODES.indexOf(code);
}
