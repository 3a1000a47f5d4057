import type { Database, Logger } from '@suoke/platform';
import type { Turn } from '../../db/conversations.js';
import { storeReply } from '../../db/conversations.js';
import { linkHandOff, openHandOff, selectAgent } from '../../db/handoff.js';
import type { MessageRow } from '../../db/schema.js';
import type { ReplyService } from '../replies.js';
import type { ReplyCaller } from './pipeline.js';

/**
 * A hand-off from 小艾: a new conversation of the same user with the receiving agent, the question as its first
 * message, the receiving agent's reply in its own voice (with 小艾's conversation as context, and no further hand-off),
 * then 小艾's reply linked to it (`Message.handedOffTo`). The reply of 小艾 is stored first: a hand-off that fails
 * leaves it standing, without the link, and is logged. Returns the linked reply row, or undefined when it failed.
 */
export async function handOff(
  deps: { database: Database; replies: ReplyService; log: Logger },
  input: {
    caller: ReplyCaller;
    /** 小艾's stored reply (blocking) or reply row (streamed, still STREAMING). */
    fromMessageId: string;
    agentId: string;
    question: string;
    /** 小艾's conversation so far, oldest first: what the receiving agent is told. */
    context: readonly Turn[];
  },
): Promise<MessageRow | undefined> {
  try {
    const agent = await selectAgent(deps.database, input.agentId);
    if (!agent) throw new Error(`hand-off to unknown agent ${JSON.stringify(input.agentId)}`);
    const opened = await openHandOff(deps.database, { userId: input.caller.userId, agentId: agent.id, fromMessageId: input.fromMessageId, question: input.question });
    const outcome = await deps.replies.reply({
      agent,
      question: input.question,
      history: input.context,
      caller: { ...input.caller, messageKey: opened.message.id },
      allowHandOff: false,
    });
    await storeReply(deps.database, opened.conversation.id, {
      text: outcome.text,
      degraded: outcome.degraded,
      provider: outcome.provider,
      citations: outcome.citations,
      toolCalls: outcome.toolCalls,
    });
    return await linkHandOff(deps.database, input.fromMessageId, opened.conversation.id);
  } catch (error) {
    deps.log.error({ err: error, messageId: input.fromMessageId, to: input.agentId }, 'hand-off failed: the reply stands without it');
    return undefined;
  }
}
