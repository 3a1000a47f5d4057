/**
 * Intent matching for the offline responder, and the search terms a question
 * gives the knowledge base. The knowledge search matches names and phrases,
 * not whole sentences, so a question is reduced to the terms it is about:
 * constitution names it mentions, the constitution or topic its symptoms point
 * to, and what is left once the question words are taken out ("黄芪有什么功效"
 * → "黄芪").
 */

export type Intent =
  | 'GREETING'
  | 'THANKS'
  | 'URGENT'
  | 'CONSULTATION'
  | 'APPOINTMENT'
  | 'PRODUCT'
  | 'CARE_PLAN'
  | 'LEARN'
  | 'SLEEP'
  | 'MOOD'
  | 'EXERCISE'
  | 'DIET'
  | 'SYMPTOM'
  | 'HERB';

const INTENT_PATTERNS: Array<[Intent, RegExp]> = [
  ['URGENT', /胸痛|胸口痛|呼吸困难|喘不上气|昏迷|晕倒|大出血|吐血|便血|高烧不退|高热不退|抽搐|中风|口眼歪斜|自杀|不想活/],
  ['GREETING', /^(你好|您好|嗨|哈喽|在吗|早上好|晚上好|hi\b|hello\b|hey\b)/i],
  ['THANKS', /谢谢|感谢|多谢|thank/i],
  ['CONSULTATION', /评估|测一测|测测|测试|检测|四诊|望闻问切|什么体质|哪种体质|体质类型|舌象|脉象|把脉|看舌头/],
  ['APPOINTMENT', /预约|挂号|约医生|看医生|问诊|门诊|复诊/],
  ['PRODUCT', /产品|购买|买什么|哪里买|茶饮|代茶饮|食材|药膳|保健品/],
  ['CARE_PLAN', /计划|方案|调理|疗程|怎么养|如何养|养生/],
  ['LEARN', /是什么|为什么|什么意思|在哪|原理|讲讲|介绍|科普|知识|文章|理论/],
  ['SLEEP', /失眠|睡不着|睡不好|入睡|早醒|多梦|熬夜|作息|睡眠/],
  ['MOOD', /情绪|心情|焦虑|抑郁|郁闷|烦躁|压力|叹气|生气|难过|紧张/],
  ['EXERCISE', /运动|锻炼|跑步|散步|八段锦|太极|瑜伽|健身/],
  ['DIET', /饮食|吃什么|能吃|可以吃|能不能吃|食物|忌口|喝什么|早餐|晚餐|食疗/],
  ['HERB', /中药|药材|草药|药食同源|功效|作用|副作用/],
];

/** Symptoms and topics, and the term the knowledge base knows them by. */
const TOPIC_TERMS: Array<[RegExp, string]> = [
  [/累|乏力|疲劳|疲倦|没力气|没精神|气短|容易感冒|出虚汗|自汗/, '气虚'],
  [/怕冷|手脚冰凉|手脚冰冷|手脚发凉|畏寒|腰膝冷|冬天难熬/, '阳虚'],
  [/口干|咽干|手心热|手脚心热|五心烦热|盗汗|上火|眼睛干|皮肤干/, '阴虚'],
  [/发胖|肥胖|体重|痰多|身体沉|身体重|困重|肚子大|腹部肥满/, '痰湿'],
  [/出油|油光|口苦|长痘|痘痘|痤疮|小便黄|湿热/, '湿热'],
  [/痛经|色斑|脸色暗|面色晦暗|暗沉|瘀青|瘀斑|血瘀/, '血瘀'],
  [/叹气|郁闷|抑郁|心里堵|闷闷不乐|气郁/, '气郁'],
  [/过敏|打喷嚏|鼻炎|荨麻疹|花粉/, '过敏'],
  [/失眠|睡不着|睡不好|入睡|早醒|多梦|睡眠/, '睡眠'],
  [/情绪|焦虑|烦躁|压力/, '情绪'],
  [/四诊|望闻问切|舌象|脉象|把脉/, '四诊'],
  [/穴位|按摩|艾灸/, '穴位'],
  [/中药|药材|草药|药食同源/, '中药'],
  [/体质/, '体质'],
];

/** Names the knowledge base answers to directly. */
const NAMED_TERMS = /平和质|气虚质|阳虚质|阴虚质|痰湿质|湿热质|血瘀质|气郁质|特禀质|平和|气虚|阳虚|阴虚|痰湿|湿热|血瘀|气郁|特禀/g;

/** Words that make a sentence a question but say nothing about its subject. */
const QUESTION_WORDS =
  /请问|麻烦|帮我|帮忙|我想|想要|想知道|知道|告诉我|有没有|有什么|是什么|为什么|什么|怎么办|怎么样|怎样|怎么|如何|在哪里|在哪儿|在哪|哪里|哪儿|可以|能不能|能否|是不是|是否|应该|需要|一下|介绍|推荐|讲讲|说说|最近|每天|平时|晚上|早上|白天|夜里|半夜|觉得|感觉|总是|经常|老是|一直|有点|有些|比较|特别|非常|很|太|好处|功效|作用|适合|用法|人群|吃|喝|的|了|吗|呢|吧|啊|呀|哦|我|你|您|他|她|它|们|人|和|与|及|或|就|也|都|还|会|要|能|在|是|有|对|给|让|被|把|[\s\p{P}\p{S}\d]/gu;

export interface Analysis {
  intents: Set<Intent>;
  /** At most three search terms: what the question names, then the names and topics it mentions. */
  terms: string[];
}

export function analyse(question: string): Analysis {
  const text = question.normalize('NFKC').trim();
  const intents = new Set<Intent>();
  for (const [intent, pattern] of INTENT_PATTERNS) if (pattern.test(text)) intents.add(intent);
  const terms: string[] = [];
  const add = (term: string) => {
    if (!terms.includes(term)) terms.push(term);
  };
  for (const match of text.match(NAMED_TERMS) ?? []) add(match.replace(/质$/, ''));
  let symptomatic = false;
  for (const [pattern, term] of TOPIC_TERMS) {
    if (pattern.test(text)) {
      add(term);
      symptomatic ||= !['体质', '四诊', '穴位', '中药'].includes(term);
    }
  }
  if (symptomatic) intents.add('SYMPTOM');
  // What is left without the question words, names and symptoms ("气虚的人可以吃黄芪吗" → "黄芪"): a short
  // remainder is most likely the name of what is asked about; a long one is a sentence the search cannot match.
  const rest = TOPIC_TERMS.reduce((left, [pattern]) => left.replace(new RegExp(pattern.source, 'g'), ''), text.replace(NAMED_TERMS, '')).replace(QUESTION_WORDS, '');
  const restLength = [...rest].length;
  // First: it names the very thing asked about, where the other terms name its topic.
  if (restLength >= 2 && restLength <= 8 && !terms.includes(rest)) terms.unshift(rest);
  return { intents, terms: terms.slice(0, 3) };
}
