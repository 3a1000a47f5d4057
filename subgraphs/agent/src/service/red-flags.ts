import type { AgentRow } from '../db/schema.js';

/**
 * Red flags: messages that describe an emergency. Whatever else the message
 * asks, and whichever agent or provider would answer, the reply is the
 * urgent-care answer, produced here by rule: it is never sent to a model (no
 * model can delay or soften it) and never cached. Matching errs on the side of
 * caution (no negation handling): a false alarm costs a sentence, a missed one
 * costs far more.
 */

export type RedFlag = 'CHEST_PAIN' | 'STROKE' | 'SELF_HARM';

const PATTERNS: Array<[RedFlag, RegExp]> = [
  // Self-harm first: its answer names the crisis line as well as 120.
  [
    'SELF_HARM',
    /自杀|自尽|轻生|寻死|想死|不想活|活不下去|活着没意思|结束(自己的)?生命|伤害自己|自残|自伤|割腕|跳楼|\b(suicid\w*|kill(ing)? myself|end(ing)? my life|take my (own )?life|self[- ]?harm\w*|hurt(ing)? myself|cut(ting)? myself|want to die|don'?t want to (live|be alive)|no reason to live|better off dead)\b/i,
  ],
  [
    'STROKE',
    /中风|脑卒中|卒中|口眼歪斜|嘴歪|嘴角歪|半边脸|半身不遂|一侧(肢体|手脚|身体|胳膊|腿)?(无力|麻木|不能动)|半边身子(无力|麻木|不能动)|突然(说话不清|口齿不清|言语不清|说不出话|看不清|视物模糊|剧烈头痛|站不稳)|口齿不清|言语不清|\b(stroke|face (is )?droop\w*|droop\w* face|slurred speech|slurring (my |his |her )?words|can'?t (speak|talk) properly|(one|1) side of (my|his|her|the) (body|face)|(arm|leg|face) (suddenly )?(went |goes |is |feels )?(numb|weak)|sudden (numbness|weakness|confusion|severe headache))\b/i,
  ],
  [
    'CHEST_PAIN',
    /胸痛|胸口痛|胸口疼|胸口剧痛|胸前痛|胸前疼|心口痛|心口疼|胸口压|胸口像压|胸闷痛|胸部疼痛|心绞痛|心梗|心肌梗|\b(chest (pain|pains|tightness|pressure)|pain in (my|the|his|her) chest|(my|his|her) chest (hurts|is tight|feels tight|feels heavy)|heart attack|crushing (pain|feeling) in)\b/i,
  ],
];

/** The red flag a message raises, the most urgent first (self-harm, stroke, chest pain); undefined when none. */
export function redFlagOf(message: string): RedFlag | undefined {
  const text = message.normalize('NFKC');
  return PATTERNS.find(([, pattern]) => pattern.test(text))?.[0];
}

const ZH: Record<RedFlag, string> = {
  CHEST_PAIN:
    '你描述的胸痛可能是心脏急症（如心肌梗死）的信号：请立即拨打 120 急救电话，或马上去最近医院的急诊，不要自己开车。等待时停止活动、坐下或半躺休息，松开衣领；身边有人就请他陪着你。',
  STROKE:
    '你描述的情况可能是中风（脑卒中）的信号：请立即拨打 120，并记下症状开始的时间——越早送医，可用的治疗越多。记住“中风 120”：1 看脸是否歪斜，2 查两只胳膊能否平举，0（聆）听说话是否清楚。等待时不要吃喝任何东西，也不要自行服药。',
  SELF_HARM:
    '听到你这么说，我很担心你的安全。如果你现在有伤害自己的想法或打算，请立即拨打 120 或去最近的急诊；也可以拨打心理援助热线 12356，和专业的人聊一聊。请尽量不要一个人待着，联系一位你信任的家人或朋友陪在身边。你并不孤单，你的感受值得被认真对待。',
};

const EN: Record<RedFlag, string> = {
  CHEST_PAIN:
    'Chest pain can be a sign of a heart emergency such as a heart attack. Call 120 (in China; your local emergency number elsewhere) or go to the nearest emergency department now; do not drive yourself. Stop, sit or half-lie down and loosen tight clothing while you wait.',
  STROKE:
    'These may be signs of a stroke. Call 120 (in China; your local emergency number elsewhere) now and note the time the symptoms began: the sooner treatment starts, the more can be done. Check FAST: Face drooping, Arm weakness, Speech difficulty, Time to call. Do not eat, drink or take medicine while you wait.',
  SELF_HARM:
    'I am worried about your safety. If you are thinking of harming yourself, please call 120 or go to the nearest emergency department now, or call the mental health hotline 12356 to talk to someone trained to help. Please do not stay alone: reach out to someone you trust and ask them to be with you.',
};

/**
 * The urgent-care reply: first, before any other word, what to do now; the rest of the message waits. In Chinese;
 * a message without Chinese in it gets the English first.
 */
export function redFlagReply(agent: Pick<AgentRow, 'name'>, flag: RedFlag, message: string): string {
  const english = !/\p{Script=Han}/u.test(message);
  const lines = english ? [`[URGENT] ${EN[flag]}`, `【紧急】${ZH[flag]}`] : [`【紧急】${ZH[flag]}`];
  lines.push(`——${agent.name}：线上建议不能代替急救。其他问题等你安全以后，我们再慢慢聊。${english ? ' Anything else can wait until you are safe.' : ''}`);
  return lines.join('\n');
}
