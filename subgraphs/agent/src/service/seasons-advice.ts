import { seasonOf, type SolarTerm } from './seasons.js';

/**
 * 索儿's message at a solar term: a line about the term (its weather and the
 * rhythm of the day it asks for) and a line for the user's constitution in
 * that season. Written for the app, in Chinese; general wellness guidance,
 * not medical advice. A user without a known constitution gets the term's
 * line and the balanced constitution's line.
 */

// By longitude / 15, as in seasons.ts (index 0: 春分).
const TERM_LINES: readonly string[] = [
  '春分昼夜平分，阴阳相半，起居有常、饮食清淡，保持平和心情。',
  '清明气清景明，宜踏青舒展筋骨，少食生冷，注意花粉过敏。',
  '谷雨雨生百谷，湿气渐重，饮食宜健脾祛湿，如薏米、山药。',
  '立夏万物繁茂，心气渐旺，午间小憩片刻，情绪宜舒畅。',
  '小满湿热渐盛，少吃肥甘厚味，多饮温水，出汗后及时擦干。',
  '芒种忙种，天气湿热，早睡早起，适当午休，饮食清淡易消化。',
  '夏至阳气最盛，晚睡早起但不熬夜，避开正午烈日，不可贪凉饮冷。',
  '小暑热而未极，注意防暑补水，冷气温度不宜过低。',
  '大暑一年最热，宜清热解暑，绿豆汤、冬瓜可常食，运动放在清晨或傍晚。',
  '立秋暑去凉来，早卧早起，饮食逐渐减辛增酸，防“秋老虎”。',
  '处暑暑气渐消，秋燥初起，多喝水，可食梨、百合润燥。',
  '白露早晚转凉，注意腹部和足部保暖，“白露身不露”。',
  '秋分阴阳再次平衡，起居规律，饮食润肺养阴，保持心境平和。',
  '寒露露寒将凝，添衣防寒，润燥护肺，晚上泡脚助眠。',
  '霜降秋之末，天气渐寒，饮食可稍温补，注意膝关节保暖。',
  '立冬万物收藏，早睡晚起，温补为宜，运动不宜大汗。',
  '小雪天寒地冻，注意保暖防风，多晒太阳，调畅情志。',
  '大雪进补好时节，饮食温热，可适量羊肉、核桃，注意防滑防寒。',
  '冬至阴极阳生，宜静养藏精，早睡保暖，饮食温润。',
  '小寒开始进入最冷时段，头颈、背部、双脚要保暖，适度运动。',
  '大寒岁末最冷，固护阳气，饮食温补，为迎接春天做准备。',
  '立春阳气始生，宜舒展肝气，早起散步，多食葱、韭等升发之品。',
  '雨水降水渐多，乍暖还寒，“春捂”勿急减衣，饮食健脾养胃。',
  '惊蛰春雷始鸣，阳气升发，作息顺应早起，饮食宜清淡，少酸多甘。',
];

type Season = ReturnType<typeof seasonOf>;

/** Per constitution (the knowledge subgraph's codes), one line per season. */
const CONSTITUTION_LINES: Record<string, Record<Season, string>> = {
  BALANCED: {
    SPRING: '你是平和质，顺应春生之气，保持规律作息和适度运动即可。',
    SUMMER: '你是平和质，夏季注意清淡饮食与补水，保持现有好习惯。',
    AUTUMN: '你是平和质，秋季润燥为主，作息规律、情绪平稳。',
    WINTER: '你是平和质，冬季注意保暖、早睡，不必刻意大补。',
  },
  QI_DEFICIENT: {
    SPRING: '你偏气虚，春季运动宜和缓如散步、八段锦，避免大汗耗气。',
    SUMMER: '你偏气虚，夏季出汗多易乏力，可适量山药、黄芪炖汤，避免过劳。',
    AUTUMN: '你偏气虚，秋季注意防感冒，饮食可用山药、大枣健脾益气。',
    WINTER: '你偏气虚，冬季宜温和进补，注意保暖，运动以不气喘为度。',
  },
  YANG_DEFICIENT: {
    SPRING: '你偏阳虚，春季多晒太阳助阳气升发，“春捂”尤为重要。',
    SUMMER: '你偏阳虚，夏季也别贪凉，冷饮和空调要节制，可冬病夏养。',
    AUTUMN: '你偏阳虚，秋季及早添衣，腹部和脚部保暖，饮食偏温。',
    WINTER: '你偏阳虚，冬季畏寒最明显，宜温补如羊肉、生姜，睡前泡脚。',
  },
  YIN_DEFICIENT: {
    SPRING: '你偏阴虚，春季少吃辛辣燥热，保证睡眠，不熬夜。',
    SUMMER: '你偏阴虚，夏季更要防暑伤阴，多饮水，可食百合、银耳。',
    AUTUMN: '你偏阴虚，秋燥对你影响最大，宜梨、百合、银耳滋阴润燥。',
    WINTER: '你偏阴虚，冬季进补避免过于温燥，室内注意加湿。',
  },
  PHLEGM_DAMP: {
    SPRING: '你偏痰湿，春季多运动、少甜腻，帮助脾胃运化。',
    SUMMER: '你偏痰湿，夏季湿气重，可用薏米、赤小豆祛湿，避免久坐。',
    AUTUMN: '你偏痰湿，秋季饮食七分饱，控制油腻，坚持快走等有氧运动。',
    WINTER: '你偏痰湿，冬季进补要适量，少吃肥甘厚味，保持运动。',
  },
  DAMP_HEAT: {
    SPRING: '你偏湿热，春季饮食清淡，少酒少辛辣，保持大便通畅。',
    SUMMER: '你偏湿热，夏季最易不适，宜绿豆、冬瓜清热利湿，注意皮肤清洁。',
    AUTUMN: '你偏湿热，秋季仍要清淡饮食，避免熬夜和饮酒。',
    WINTER: '你偏湿热，冬季进补不宜过燥过腻，火锅烧烤要节制。',
  },
  BLOOD_STASIS: {
    SPRING: '你偏血瘀，春季多活动舒展，促进气血运行，保持心情舒畅。',
    SUMMER: '你偏血瘀，夏季避免冷饮刺激，适度运动出微汗。',
    AUTUMN: '你偏血瘀，秋季注意保暖，可适量山楂、玫瑰花茶活血。',
    WINTER: '你偏血瘀，寒冷易致血行不畅，注意保暖并坚持温和运动。',
  },
  QI_STAGNATION: {
    SPRING: '你偏气郁，春季肝气升发，多出门踏青、与朋友交流，疏解情绪。',
    SUMMER: '你偏气郁，夏季保持心情舒畅，可饮少量玫瑰花茶。',
    AUTUMN: '你偏气郁，秋季易悲秋，多参加户外和集体活动，规律作息。',
    WINTER: '你偏气郁，冬季日照短，多晒太阳，找到让自己放松的事。',
  },
  INHERITED_SPECIAL: {
    SPRING: '你属特禀质，春季花粉多，外出注意防护，远离已知过敏原。',
    SUMMER: '你属特禀质，夏季注意饮食卫生和防蚊虫，避免接触过敏原。',
    AUTUMN: '你属特禀质，秋季早晚温差大，注意防寒防过敏，保持室内清洁。',
    WINTER: '你属特禀质，冬季注意防寒保暖，室内通风，远离尘螨。',
  },
};

export interface SeasonalAdvice {
  title: string;
  body: string;
  /** The constitution the advice was written for, or null when the user's is unknown. */
  constitution: string | null;
}

/** The message for `term`, for a user of `constitution` (a code such as `YANG_DEFICIENT`, or null). */
export function seasonalAdvice(term: Pick<SolarTerm, 'longitude' | 'name' | 'dateInChina'>, constitution: string | null): SeasonalAdvice {
  const known = constitution && CONSTITUTION_LINES[constitution] ? constitution : null;
  const termLine = TERM_LINES[term.longitude / 15]!;
  const personal = CONSTITUTION_LINES[known ?? 'BALANCED']![seasonOf(term.longitude)];
  const body = known ? `${termLine}${personal}` : `${termLine}完成体质辨识后，索儿会按你的体质给出更贴合的建议。`;
  return { title: `${term.name}到了 · 索儿的节气养生提醒`, body, constitution: known };
}
