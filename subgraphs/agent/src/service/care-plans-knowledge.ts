import { GraphQLError } from 'graphql';
import { ServiceCallError, type GatewayRequest } from '@suoke/platform';

/**
 * What a care plan is built from, read from the knowledge subgraph through the
 * gateway (this subgraph never reads another's tables): the report's
 * constitutions with their advice, herbs (with cautions), foods and acupoints,
 * and its syndromes' treatment principles. One request for the whole report.
 */

export interface CareConstitution {
  code: string;
  name: string;
  advice: { diet: string; exercise: string; sleep: string; emotions: string };
  recommendedHerbs: Array<{ id: string; name: string; actions: string[]; cautions: string[] }>;
  recommendedFoods: Array<{ name: string }>;
  recommendedAcupoints: Array<{ code: string; name: string; selfCare: string }>;
}

export interface CareSyndrome {
  code: string;
  name: string;
  treatmentPrinciple: string;
}

export interface CareKnowledge {
  constitutions: Map<string, CareConstitution>;
  syndromes: Map<string, CareSyndrome>;
}

export type CareKnowledgeLookup = (constitutionCodes: readonly string[], syndromeCodes: readonly string[]) => Promise<CareKnowledge>;

const CONSTITUTION_FIELDS = `code name advice { diet exercise sleep emotions }
  recommendedHerbs { id name actions cautions } recommendedFoods { name } recommendedAcupoints { code name selfCare }`;

/** The lookup through the gateway: one operation, one alias per code. A gateway that does not answer is SERVICE_UNAVAILABLE. */
export function gatewayCareKnowledge(request: GatewayRequest): CareKnowledgeLookup {
  return async (constitutionCodes, syndromeCodes) => {
    const variables: Record<string, string> = {};
    const params: string[] = [];
    const fields: string[] = [];
    constitutionCodes.forEach((code, i) => {
      variables[`c${i}`] = code;
      params.push(`$c${i}: ID!`);
      fields.push(`c${i}: constitution(code: $c${i}) { ${CONSTITUTION_FIELDS} }`);
    });
    syndromeCodes.forEach((code, i) => {
      variables[`s${i}`] = code;
      params.push(`$s${i}: ID!`);
      fields.push(`s${i}: syndrome(code: $s${i}) { code name treatmentPrinciple }`);
    });
    let data: Record<string, (CareConstitution & CareSyndrome) | null>;
    try {
      data = await request('CarePlanKnowledge', `query CarePlanKnowledge(${params.join(', ')}) { ${fields.join(' ')} }`, variables);
    } catch (error) {
      throw knowledgeUnavailable(error);
    }
    const knowledge: CareKnowledge = { constitutions: new Map(), syndromes: new Map() };
    for (const [alias, value] of Object.entries(data)) {
      if (!value) continue;
      if (alias.startsWith('c')) knowledge.constitutions.set(value.code, value);
      else knowledge.syndromes.set(value.code, value);
    }
    return knowledge;
  };
}

/** The client's answer while the knowledge base cannot be read: worth retrying, never a stack or an internal URL. */
export function knowledgeUnavailable(cause?: unknown): GraphQLError {
  return new GraphQLError('The knowledge base cannot be read right now, so no care plan can be built; try again shortly', {
    extensions: { code: 'SERVICE_UNAVAILABLE' },
    ...(cause instanceof Error ? { originalError: cause instanceof ServiceCallError ? new Error(cause.message) : cause } : {}),
  });
}
