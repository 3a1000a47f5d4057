import { gatewayClient, ServiceCallError, serviceCredential, type GatewayRequest } from '@suoke/platform';
import type { DiagnosisConfig } from '../config.js';
import type { SagaStep, StepFailure } from './saga.js';

/** Exactly what the saga's calls need: no person holds either scope. */
export const SAGA_SCOPES = ['reports:explain', 'notifications:write'] as const;

const EXPLAIN = /* GraphQL */ `
  mutation SagaExplainReport($input: ExplainReportInput!) {
    explainReport(input: $input) { key conversationId messageId }
  }`;
const RETRACT_EXPLANATION = /* GraphQL */ `
  mutation SagaRetractExplanation($key: String!) { retractReportExplanation(key: $key) }`;
const NOTIFY = /* GraphQL */ `
  mutation SagaNotify($input: PostNotificationInput!) {
    postNotification(input: $input) { id }
  }`;
const RETRACT_NOTIFICATION = /* GraphQL */ `
  mutation SagaRetractNotification($key: String!) { retractNotification(key: $key) }`;

/** The saga's steps as calls through the gateway: the agent and user subgraphs stay another team's services. */
export function gatewaySteps(request: GatewayRequest): SagaStep[] {
  const expectTrue = async (call: Promise<Record<string, boolean | null>>, field: string) => {
    const data = await call;
    if (data[field] !== true) throw new ServiceCallError(`${field} did not confirm`, { transient: true });
  };
  return [
    {
      name: 'EXPLAIN',
      failureReason: "XiaoAI's explanation of the report could not be written",
      run: ({ key, report }) =>
        request<{ explainReport: unknown }>('SagaExplainReport', EXPLAIN, {
          input: {
            key,
            userId: report.userId,
            reportId: report.id,
            primaryConstitution: report.primaryConstitution,
            secondaryConstitutions: report.secondaryConstitutions,
            suggestedSyndromes: report.suggestedSyndromes,
            confidence: report.confidence,
            advice: report.adviceSummary,
          },
        }).then((data) => data.explainReport),
      compensate: ({ key }) => expectTrue(request('SagaRetractExplanation', RETRACT_EXPLANATION, { key }), 'retractReportExplanation'),
    },
    {
      name: 'NOTIFY',
      failureReason: 'The notification that the report is ready could not be sent',
      run: ({ key, report }) =>
        request<{ postNotification: unknown }>('SagaNotify', NOTIFY, {
          input: {
            key,
            userId: report.userId,
            kind: 'REPORT_READY',
            title: '你的体质辨识报告已生成',
            body: '小艾已经为你解读了这次四诊合参的结果，打开与小艾的对话即可查看，有疑问可以直接问她。',
            reportId: report.id,
          },
        }).then((data) => data.postNotification),
      compensate: ({ key }) => expectTrue(request('SagaRetractNotification', RETRACT_NOTIFICATION, { key }), 'retractNotification'),
    },
  ];
}

/** The default steps for a configured subgraph: through GATEWAY_URL with the saga's own service credential. */
export function configuredSteps(config: DiagnosisConfig): SagaStep[] {
  const token = serviceCredential({ service: 'diagnosis', scopes: SAGA_SCOPES, ...config });
  return gatewaySteps(gatewayClient({ url: config.GATEWAY_URL, token, timeoutMs: config.SAGA_STEP_TIMEOUT_MS }));
}

/** Refusals and bad input end the attempt; anything else (network, timeouts, masked internal errors) may pass on retry. */
export function classifyStepError(error: unknown): StepFailure {
  if (error instanceof ServiceCallError) return { transient: error.transient, message: error.message };
  return { transient: true, message: error instanceof Error ? error.message : String(error) };
}
