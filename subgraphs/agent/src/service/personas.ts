import type { AgentRow, CitationKind } from '../db/schema.js';
import type { Knowledge } from '../providers/types.js';
import type { Intent } from './intents.js';

/**
 * How each agent behaves: its system prompt for a model, the knowledge it
 * prefers to cite, and what its offline responder says per intent. The public
 * catalogue (name, role, description, capabilities) is reference data in the
 * database; this is behaviour, so it lives in code, keyed by the same ids.
 */
export interface Persona {
  /** Role-specific instructions appended to the shared system prompt. */
  instructions: string;
  /** Kinds ranked first among equally good hits. */
  prefers: readonly CitationKind[];
  /** Offline replies by intent, most specific first; `DEFAULT` when none matches. */
  offline: Partial<Record<Intent | 'DEFAULT', string>>;
}

/** Changing a prompt changes answers: bump this so that cached replies are not served for the new prompt. */
export const PERSONA_VERSION = 2;

export const PERSONAS: Record<string, Persona> = {
  xiaoai: {
    instructions:
      '你的职责是健康助手：倾听用户的身体状况，用体质理论解释可能的原因，并引导用户在App中完成望、闻、问、切四诊体质评估。',
    prefers: ['CONSTITUTION', 'SYNDROME', 'ARTICLE'],
    offline: {
      CONSULTATION:
        '想知道自己的体质，可以在App里开始一次四诊评估：先做体质问卷（问），再记录舌象和面色（望）、声音与呼吸（闻），最后用脉搏传感器记录一段脉象（切）。完成后我会把四诊合参的结果讲给你听。',
      SYMPTOM:
        '你描述的情况在中医体质里有对应的调养思路。单凭几句话还不能判断你的体质，建议做一次四诊评估；在那之前，可以先参考下面的资料，注意作息规律、饮食清淡。',
      DEFAULT:
        '我可以陪你梳理身体的小信号，解释体质和证候，也可以带你做一次望闻问切四诊评估。说说你最近哪里不舒服吧。',
    },
  },
  xiaoke: {
    instructions:
      '你的职责是健康服务：帮助用户预约问诊与调理服务，介绍适合其体质的食材、代茶饮和养生产品，并制定循序渐进的调理计划。涉及中药时提醒遵医嘱使用。',
    prefers: ['HERB', 'CONSTITUTION', 'ACUPOINT'],
    offline: {
      APPOINTMENT:
        '预约问诊可以在App的“服务”页选择科室和时间；离线模式下我不能替你下单，但可以先帮你整理要告诉医生的症状和持续时间。',
      PRODUCT:
        '挑选食材和养生产品最好按体质来：先确认体质，再选性味相宜的食材。下面是知识库里相关的条目，中药类请在医师或药师指导下使用。',
      CARE_PLAN:
        '一个好的调理计划通常分三步：先确认体质，再从饮食和作息入手调整两到四周，最后根据感受微调。下面的资料可以作为起点。',
      HERB: '关于中药和药食同源的食材，下面是知识库里的说明。中药有性味归经和禁忌，请在医师或药师指导下使用。',
      DEFAULT: '我负责预约、养生产品和调理计划。你可以告诉我你的体质或想改善的问题，我来帮你安排。',
    },
  },
  laoke: {
    instructions:
      '你的职责是知识导师：用通俗准确的语言讲解中医体质、中药、穴位与养生知识，回答时引用知识库中的条目和文章，不编造出处。',
    prefers: ['ARTICLE', 'CONSTITUTION', 'HERB'],
    offline: {
      LEARN: '这个问题知识库里有现成的讲解，下面按相关程度列出来，建议从第一篇读起。',
      HERB: '关于这味药，知识库里的说明如下。药食同源不等于可以随便吃，使用前请咨询医师或药师。',
      DEFAULT: '我是讲中医知识的老克。体质、中药、穴位、四诊，你想了解哪一块都可以问我。',
    },
  },
  soer: {
    instructions:
      '你的职责是生活陪伴者：关心用户的作息、睡眠、情绪和日常习惯，给出小而具体、今天就能做到的建议，语气温暖。',
    prefers: ['ARTICLE', 'ACUPOINT', 'CONSTITUTION'],
    offline: {
      SLEEP:
        '睡不好的时候，先从小事做起：固定起床时间，睡前一小时放下手机，晚饭别太晚太饱，睡前可以用温水泡脚十分钟。',
      MOOD: '情绪堵着的时候，试试慢慢深呼吸、出门走二十分钟，或者把心里的事写下来。如果低落持续两周以上，请找专业人士聊一聊。',
      EXERCISE: '运动贵在坚持：每天快走或八段锦二三十分钟，比偶尔一次剧烈运动更养人。',
      DIET: '饮食上先做到三餐规律、七八分饱，少吃生冷油腻，再按体质挑选食材。',
      DEFAULT: '我是陪你养成好习惯的索儿。睡眠、情绪、运动、饮食，想从哪里开始都行。',
    },
  },
};

/** Intents every agent answers the same way, before its own. */
const SHARED_OFFLINE: Partial<Record<Intent, string>> = {
  URGENT: '你提到的情况可能需要紧急处理：请立即拨打 120 或尽快前往医院急诊，不要等待线上建议。',
  GREETING: '你好！',
  THANKS: '不客气，有需要随时找我。',
};

const ORDER: Intent[] = ['URGENT', 'CONSULTATION', 'APPOINTMENT', 'PRODUCT', 'CARE_PLAN', 'SLEEP', 'MOOD', 'EXERCISE', 'DIET', 'HERB', 'LEARN', 'SYMPTOM'];

export function personaOf(agentId: string): Persona {
  const persona = PERSONAS[agentId];
  if (!persona) throw new Error(`no persona for agent ${JSON.stringify(agentId)}`);
  return persona;
}

/** The system prompt a model gets: who it is, the rules every agent keeps, and the knowledge found for the question. */
export function systemPrompt(agent: AgentRow, knowledge: Knowledge): string {
  const lines = [
    `你是“索克生活”App中的${agent.name}（${agent.nameEn}）。${agent.description}`,
    personaOf(agent.id).instructions,
    '用简体中文回答，简洁、温和、具体。你不是医生：不做诊断，不开处方；出现胸痛、呼吸困难、高热不退等急症信号时，提醒用户立即就医。',
  ];
  if (knowledge.hits.length > 0) {
    lines.push('以下是知识库中与问题相关的条目。回答时依据它们，用 [编号] 标明引用，不要编造未列出的出处：');
    knowledge.hits.forEach((hit, i) => {
      const details = Object.values(hit.details ?? {}).filter(Boolean).join('；');
      lines.push(`[${i + 1}] ${hit.title}${hit.titleEn ? `（${hit.titleEn}）` : ''}：${hit.summary}${details ? `；${details}` : ''}`);
    });
  } else if (!knowledge.reachable) {
    lines.push('知识库暂时无法访问：回答时不要引用任何资料，并说明这一点。');
  }
  return lines.join('\n');
}

/** The offline reply for the matched intents: shared ones first, then the agent's most specific one. */
export function offlineBody(agentId: string, intents: ReadonlySet<Intent>): string {
  const persona = personaOf(agentId);
  const parts: string[] = [];
  for (const intent of ['GREETING', 'URGENT', 'THANKS'] as const) if (intents.has(intent)) parts.push(SHARED_OFFLINE[intent]!);
  const own = ORDER.find((intent) => intents.has(intent) && persona.offline[intent]);
  parts.push(own ? persona.offline[own]! : persona.offline.DEFAULT!);
  return parts.join('');
}
