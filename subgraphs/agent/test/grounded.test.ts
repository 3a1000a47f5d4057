import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, languageOf } from '../src/service/intents.js';
import { modelEnv, startFakeGateway, startFakeOpenAi, type FakeGateway, type FakeOpenAi } from './fakes.js';
import { sent, startAgent, type Agent } from './harness.js';

// Grounded answers on the model provider: the question's retrieval (the question itself searched beside its terms)
// reaches the model as numbered entries to answer from, and the reply cites them.

describe('analyse', () => {
  it.each([
    ['手脚冰凉怕冷是什么体质', 'zh', ['阳虚', '体质']],
    ['huangqi you shenme gongxiao', 'pinyin', ['huangqi']],
    ['shoujiao bingliang pa leng shi shenme tizhi', 'pinyin', ['阳虚', '体质']],
    ['What is astragalus good for?', 'en', ['astragalus']],
    ['My hands and feet are always cold. Which constitution is that?', 'en', ['阳虚', '体质']],
  ])('“%s” is %s, searched as itself and %j', (question, language, terms) => {
    const analysis = analyse(question);
    expect(analysis.language).toBe(language);
    expect(analysis.terms).toEqual(terms);
    expect(analysis.question).toBe(question);
  });

  it('tells pinyin from English that also spells as syllables, and caps the question at the search limit', () => {
    expect(languageOf('wo zongshi hen lei')).toBe('pinyin');
    expect(languageOf('ginseng, yes or no')).toBe('en');
    expect(languageOf('Is ginseng safe?')).toBe('en');
    expect([...analyse('气'.repeat(300)).question]).toHaveLength(199);
  });
});

let gateway: FakeGateway;
let model: FakeOpenAi;
let agent: Agent;
beforeAll(async () => {
  gateway = await startFakeGateway();
  model = await startFakeOpenAi();
  agent = await startAgent({ env: modelEnv(model, gateway) });
});
afterAll(async () => {
  await agent?.close();
  await model?.close();
  await gateway?.close();
});

describe('the model provider', () => {
  it('answers from the entries the question named, numbered, with their English names and details, and cites them', async () => {
    const result = await sent(agent, { id: randomUUID() }, { agentId: 'laoke', text: 'huangqi you shenme gongxiao' });
    expect(result.reply.provider).toBe('OPENAI_COMPATIBLE');
    expect(result.citations).toEqual([{ __typename: 'Herb', id: 'huangqi' }]);
    const system = model.requests.at(-1)!.messages[0]!;
    expect(system.role).toBe('system');
    expect(system.content).toContain('[1] 黄芪（Astragalus root）：功效：补气升阳；表实邪盛者不宜');
    expect(system.content).toContain('用 [编号] 标明引用');
  });
});
