/**
 * Intent matching for the offline responder, and the searches a question gives
 * the knowledge base, in Chinese, pinyin or English. The question itself is one
 * search: the knowledge base finds the names it holds ("huangqi you shenme
 * gongxiao" → 黄芪). Besides it, up to three terms: what is left once the
 * question words are taken out ("黄芪有什么功效" → "黄芪", "tell me about
 * astragalus" → "astragalus"), constitution names it mentions, and the
 * constitution or topic its symptoms point to ("手脚冰凉", "cold hands",
 * "shoujiao bingliang" → "阳虚"), broad topics only to fill.
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
  ['GREETING', /^(你好|您好|嗨|哈喽|在吗|早上好|晚上好|hi\b|hello\b|hey\b|ni ?hao\b)/i],
  ['THANKS', /谢谢|感谢|多谢|thank|xie ?xie/i],
  ['CONSULTATION', /评估|测一测|测测|测试|检测|四诊|望闻问切|什么体质|哪种体质|体质类型|舌象|脉象|把脉|看舌头|\b(which constitution|what constitution|assessment|shenme tizhi)\b/i],
  ['APPOINTMENT', /预约|挂号|约医生|看医生|问诊|门诊|复诊|\b(appointment|book a doctor|see a doctor|yu ?yue|gua ?hao)\b/i],
  ['PRODUCT', /产品|购买|买什么|哪里买|茶饮|代茶饮|食材|药膳|保健品|\b(products?|buy|herbal tea)\b/i],
  ['CARE_PLAN', /计划|方案|调理|疗程|怎么养|如何养|养生|\b(manage\w*|care plan|look after|tiao ?li|yang ?sheng)\b/i],
  ['LEARN', /是什么|为什么|什么意思|在哪|原理|讲讲|介绍|科普|知识|文章|理论|\b(what is|what are|what does|explain|tell me about|where is|why|article|shi ?shenme|jie ?shao|zai ?na ?li)\b/i],
  ['SLEEP', /失眠|睡不着|睡不好|入睡|早醒|多梦|熬夜|作息|睡眠|\b(sleep\w*|insomnia|shi ?mian|shui ?bu ?zhao)\b/i],
  ['MOOD', /情绪|心情|焦虑|抑郁|郁闷|烦躁|压力|叹气|生气|难过|紧张|\b(mood|anxi\w+|stress\w*|sigh\w*|qing ?xu|jiao ?lv|ya ?li)\b/i],
  ['EXERCISE', /运动|锻炼|跑步|散步|八段锦|太极|瑜伽|健身|\b(exercise|workout|tai chi|yun ?dong|duan ?lian)\b/i],
  ['DIET', /饮食|吃什么|能吃|可以吃|能不能吃|食物|忌口|喝什么|早餐|晚餐|食疗|\b(eat|diet|food|foods|chi ?shenme|yin ?shi)\b/i],
  ['HERB', /中药|药材|草药|药食同源|功效|作用|副作用|\b(herbs?|herbal|benefits?|effects?|gong ?xiao|zuo ?yong|zhong ?yao)\b/i],
];

/**
 * Symptoms and topics in Chinese, English and pinyin, and the term the knowledge base knows them by. Specific ones
 * (pointing to one constitution) first; the generic topics after them only fill what is left.
 */
const TOPIC_TERMS: Array<[RegExp, string]> = [
  [/累|乏力|疲劳|疲倦|没力气|没精神|气短|容易感冒|出虚汗|自汗|\b(tired|fatigue|exhausted|no energy|low energy|short of breath|catch(es)? colds?|sweat(s|ing)? (easily|a lot))\b|\b(pilao|fali|qiduan|mei ?jingshen|rongyi ganmao|zihan)\b/i, '气虚'],
  [/怕冷|手脚冰凉|手脚冰冷|手脚发凉|畏寒|腰膝冷|冬天难熬|\b(cold hands|cold feet|always (feel )?cold|feels? (the )?cold|sensitive to (the )?cold|hates? the cold|chilly)\b|\b(shoujiao ?bing ?liang|shoujiao ?fa ?liang|pa ?leng|weihan)\b/i, '阳虚'],
  [/口干|咽干|手心热|手脚心热|五心烦热|盗汗|上火|眼睛干|皮肤干|\b(dry (mouth|throat|eyes|skin)|(hot|warm) palms|night sweats?)\b|\b(kou ?gan|yan ?gan|shouxin ?fa ?re|daohan|shang ?huo)\b/i, '阴虚'],
  [/发胖|肥胖|体重|痰多|身体沉|身体重|困重|肚子大|腹部肥满|\b(overweight|obes\w*|gain(ing)? weight|heavy body|body feels heavy|lots of phlegm)\b|\b(fa ?pang|fei ?pang|tan ?duo|shenti ?chen)\b/i, '痰湿'],
  [/出油|油光|口苦|长痘|痘痘|痤疮|小便黄|湿热|\b(oily (skin|face)|bitter taste|acne|pimples?)\b|\b(chu ?you|kou ?ku|chang ?dou|doudou)\b/i, '湿热'],
  [/痛经|色斑|脸色暗|面色晦暗|暗沉|瘀青|瘀斑|血瘀|\b(period pain|menstrual (pain|cramps)|dark spots|bruis\w*|dull complexion)\b|\b(tong ?jing|se ?ban|yu ?qing)\b/i, '血瘀'],
  [/叹气|郁闷|抑郁|心里堵|闷闷不乐|气郁|\b(sigh\w*|depress\w*|low mood|feel(ing)? down)\b|\b(tan ?qi|yu ?men|xinli ?du)\b/i, '气郁'],
  [/过敏|打喷嚏|鼻炎|荨麻疹|花粉|\b(allerg\w*|hay fever|sneez\w*|hives|pollen)\b|\b(guo ?min|da ?pen ?ti|bi ?yan)\b/i, '过敏'],
  [/失眠|睡不着|睡不好|入睡|早醒|多梦|睡眠|\b(insomnia|can'?t sleep|cannot sleep|trouble sleeping|sleep\w*)\b|\b(shi ?mian|shui ?bu ?zhao|shui ?bu ?hao|zao ?xing|duo ?meng)\b/i, '睡眠'],
  [/情绪|焦虑|烦躁|压力|\b(anxiety|anxious|stress\w*|mood)\b|\b(qing ?xu|jiao ?lv|jiao ?lu|ya ?li|fan ?zao)\b/i, '情绪'],
  [/四诊|望闻问切|舌象|脉象|把脉|\b(four examinations|tongue|pulse|look(ing)?,? (and )?listen(ing)?)\b|\b(si ?zhen|she ?xiang|mai ?xiang|ba ?mai)\b/i, '四诊'],
  [/穴位|按摩|艾灸|\b(acupoints?|acupressure|massage|moxibustion)\b|\b(xue ?wei|an ?mo|ai ?jiu)\b/i, '穴位'],
  [/中药|药材|草药|药食同源|\b(herbs?|herbal)\b|\b(zhong ?yao|cao ?yao|yao ?cai)\b/i, '中药'],
  [/体质|\b(constitutions?|body type)\b|\bti ?zhi\b/i, '体质'],
];

/** Topics too broad to name an answer alone: searched only while there are fewer than three other terms. */
const GENERIC_TERMS = new Set(['睡眠', '情绪', '四诊', '穴位', '中药', '体质']);

/** Names the knowledge base answers to directly. */
const NAMED_TERMS = /平和质|气虚质|阳虚质|阴虚质|痰湿质|湿热质|血瘀质|气郁质|特禀质|平和|气虚|阳虚|阴虚|痰湿|湿热|血瘀|气郁|特禀/g;

/** Words that make a sentence a question but say nothing about its subject. */
const QUESTION_WORDS =
  /请问|麻烦|帮我|帮忙|我想|想要|想知道|知道|告诉我|有没有|有什么|是什么|为什么|什么|怎么办|怎么样|怎样|怎么|如何|在哪里|在哪儿|在哪|哪里|哪儿|可以|能不能|能否|是不是|是否|应该|需要|一下|介绍|推荐|讲讲|说说|最近|每天|平时|晚上|早上|白天|夜里|半夜|觉得|感觉|总是|经常|老是|一直|有点|有些|比较|特别|非常|很|太|好处|功效|作用|适合|用法|人群|吃|喝|的|了|吗|呢|吧|啊|呀|哦|我|你|您|他|她|它|们|人|和|与|及|或|就|也|都|还|会|要|能|在|是|有|对|给|让|被|把|[\s\p{P}\p{S}\d]/gu;

/** English and pinyin words that make a question but name nothing ("what is", "you shenme gongxiao"). */
const LATIN_QUESTION_WORDS = new Set(
  (
    'what whats which who how why when where is are was were do does did can could should would will shall may might must ' +
    'the a an and or but of for to in on at by with about from as into than then so if it its this that these those ' +
    'i me my mine we our you your he she they them their be been being have has had not no any some much many more most ' +
    'tell explain please good best help helps helpful use used uses using mean means meaning know want need get take taking ' +
    'manage managed treat treated care daily people person someone like feel feeling eat eating drink should also there here ' +
    'shenme zenme zenmeyang zenmeban ruhe weishenme shi de ma ne ba a ya you meiyou keyi neng nengbuneng yao xiang zhidao ' +
    'wo ni ta women tamen zhe na nage zhege yige yixia qing wen qingwen gaosu jieshao tuijian jiangjiang shuo shuoshuo ' +
    'gongxiao zuoyong haochu shihe yongfa zai nali nar nayi nazhong zhu yi ge he yu huo hen tai bijiao tebie jingchang zongshi ' +
    'zuijin pingshi wanshang zaoshang juede ganjue yinggai xuyao dui gei rang ren chi he de le'
  ).split(/\s+/),
);

export type QuestionLanguage = 'zh' | 'pinyin' | 'en';

export interface Analysis {
  intents: Set<Intent>;
  /** At most three search terms: what the question names, then the names and topics it mentions. */
  terms: string[];
  /** The question as one search (≤ 199 characters): the knowledge base finds the names it holds. */
  question: string;
  /** Chinese characters make it Chinese; Latin words that are all pinyin syllables, pinyin; the rest English. */
  language: QuestionLanguage;
}

/** The longest query the knowledge subgraph's `search` accepts. */
const MAX_QUERY_CHARS = 199;

const PINYIN_SYLLABLE = '(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ang|eng|ing|ong|uan|ian|iao|uai|van|ai|ei|ao|ou|an|en|er|in|un|vn|ia|ie|iu|ua|uo|ui|ue|ve|a|o|e|i|u|v))';
const PINYIN_WORD = new RegExp(`^${PINYIN_SYLLABLE}+$`);
/** English words that also spell as pinyin: seeing one, the text is English. */
const ENGLISH_MARKERS = /\b(the|is|are|what|how|why|which|and|of|for|my|with|does|should|can|about|good|i)\b/;

export function languageOf(text: string): QuestionLanguage {
  if (/\p{Script=Han}/u.test(text)) return 'zh';
  const lower = text.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
  const words = lower.match(/[a-z]+/g) ?? [];
  if (words.length === 0 || ENGLISH_MARKERS.test(lower)) return 'en';
  const pinyin = words.filter((w) => PINYIN_WORD.test(w)).length;
  return pinyin / words.length >= 0.8 ? 'pinyin' : 'en';
}

export function analyse(question: string): Analysis {
  const text = question.normalize('NFKC').trim();
  const language = languageOf(text);
  const intents = new Set<Intent>();
  for (const [intent, pattern] of INTENT_PATTERNS) if (pattern.test(text)) intents.add(intent);
  const terms: string[] = [];
  const add = (term: string) => {
    if (!terms.includes(term)) terms.push(term);
  };
  for (const match of text.match(NAMED_TERMS) ?? []) add(match.replace(/质$/, ''));
  let symptomatic = false;
  const generic: string[] = [];
  for (const [pattern, term] of TOPIC_TERMS) {
    if (!pattern.test(text)) continue;
    if (GENERIC_TERMS.has(term)) {
      generic.push(term);
      symptomatic ||= term === '睡眠' || term === '情绪';
    } else {
      add(term);
      symptomatic = true;
    }
  }
  if (symptomatic) intents.add('SYMPTOM');
  const rest = language === 'zh' ? chineseRest(text) : latinRest(text);
  // First: it names the very thing asked about, where the other terms name its topic.
  if (rest && !terms.includes(rest)) terms.unshift(rest);
  for (const term of generic) if (terms.length < 3) add(term);
  return { intents, terms: terms.slice(0, 3), question: [...text].slice(0, MAX_QUERY_CHARS).join(''), language };
}

/**
 * What is left without the question words, names and symptoms ("气虚的人可以吃黄芪吗" → "黄芪"): a short remainder is
 * most likely the name of what is asked about; a long one is a sentence the search cannot match.
 */
function chineseRest(text: string): string | undefined {
  const rest = TOPIC_TERMS.reduce((left, [pattern]) => left.replace(new RegExp(pattern.source, 'gi'), ''), text.replace(NAMED_TERMS, '')).replace(QUESTION_WORDS, '');
  const length = [...rest].length;
  return length >= 2 && length <= 8 ? rest : undefined;
}

/** The same for English and pinyin: the words left once question words are dropped, if they are few enough to be a name. */
function latinRest(text: string): string | undefined {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !LATIN_QUESTION_WORDS.has(w.normalize('NFD').replace(/\p{M}/gu, '')));
  const rest = words.join(' ');
  return words.length >= 1 && words.length <= 3 && rest.replace(/ /g, '').length >= 3 ? rest : undefined;
}
