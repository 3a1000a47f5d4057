import { GraphQLError } from 'graphql';
import { badInput, isUuid, notFound, type Database } from '@suoke/platform';
import { activateCarePlan, insertCarePlan, selectCarePlans } from '../db/care-plans.js';
import type { CarePlanRow, StoredRecommendation } from '../db/schema.js';
import type { CareKnowledge, CareKnowledgeLookup } from './care-plans-knowledge.js';
import type { PersonalContext, PersonalContextSource } from './personal-context.js';

/** What a care plan needs of the user's latest diagnosis report. */
export interface LatestReport {
  id: string;
  createdAt: string;
  primaryConstitution: string;
  secondaryConstitutions: string[];
  suggestedSyndromes: string[];
}

/**
 * Reads a user's latest report with the user's consent. Throws a GraphQLError
 * with code CONSENT_REQUIRED when the user has not granted it; null when the
 * user has no report. The integrator wires it to the consented delegated read.
 */
export interface ReportSource {
  latestReport(userId: string): Promise<LatestReport | null>;
}

export function consentRequired(message = 'XiaoKe may not read your diagnosis reports: grant agent access to REPORTS (grantAgentAccess) first'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'CONSENT_REQUIRED' } });
}

/**
 * The latest report read with the user's consent (a delegated token minted for this read, so a revocation holds at
 * once): CONSENT_REQUIRED unless REPORTS is granted; SERVICE_UNAVAILABLE when the other subgraphs cannot be reached.
 */
export function consentedReports(source: PersonalContextSource): ReportSource {
  return {
    async latestReport(userId) {
      let context: PersonalContext | null;
      try {
        context = await source.load(userId, ['REPORTS']);
      } catch (error) {
        throw new GraphQLError('The diagnosis report could not be read right now; try again shortly', {
          extensions: { code: 'SERVICE_UNAVAILABLE' },
          originalError: error as Error,
        });
      }
      if (!context || !context.scopes.includes('REPORTS')) throw consentRequired();
      const report = context.latestReport;
      if (!report) return null;
      const { id, createdAt, primaryConstitution, secondaryConstitutions, suggestedSyndromes } = report;
      return { id, createdAt, primaryConstitution, secondaryConstitutions, suggestedSyndromes };
    },
  };
}

const CODE = /^[A-Z][A-Z_]{1,59}$/;
const HERBS = 3;
const ACUPOINTS = 3;

/** The report's codes as the knowledge base spells them; a malformed one is the source's bug, not the user's. */
function checkedReport(report: LatestReport): LatestReport {
  const codes = [report.primaryConstitution, ...report.secondaryConstitutions, ...report.suggestedSyndromes];
  const bad = codes.find((code) => !CODE.test(code));
  if (bad !== undefined || !isUuid(report.id.toLowerCase()) || Number.isNaN(Date.parse(report.createdAt))) {
    throw new Error(`ReportSource returned a report that breaks its contract (id ${JSON.stringify(report.id)}, code ${JSON.stringify(bad)})`);
  }
  return { ...report, id: report.id.toLowerCase(), secondaryConstitutions: report.secondaryConstitutions.slice(0, 8), suggestedSyndromes: report.suggestedSyndromes.slice(0, 5) };
}

/**
 * XiaoKe's recommendations for a report, each citing the knowledge entry it
 * comes from: the syndromes' treatment principles, then diet, herbs (with their
 * cautions), acupoints, exercise, sleep and emotions of the primary
 * constitution, and the diet of each secondary one. Codes the knowledge base
 * does not know are left out; an unknown primary constitution is an error.
 */
export function composeCarePlan(report: LatestReport, knowledge: CareKnowledge): StoredRecommendation[] {
  const primary = knowledge.constitutions.get(report.primaryConstitution);
  if (!primary) throw new Error(`the knowledge base has no constitution ${JSON.stringify(report.primaryConstitution)} (report ${report.id})`);
  const cite = (kind: StoredRecommendation['source']['kind'], key: string) => ({ kind, key });
  const out: StoredRecommendation[] = [];
  for (const code of report.suggestedSyndromes) {
    const syndrome = knowledge.syndromes.get(code);
    if (syndrome) out.push({ category: 'PRINCIPLE', title: syndrome.name, text: `调理原则：${syndrome.treatmentPrinciple}。`, cautions: [], source: cite('SYNDROME', code) });
  }
  const foods = primary.recommendedFoods.map((f) => f.name).slice(0, 6);
  out.push({
    category: 'DIET',
    title: `${primary.name}饮食`,
    text: `${primary.advice.diet}${foods.length > 0 ? ` 常用食材：${foods.join('、')}。` : ''}`,
    cautions: [],
    source: cite('CONSTITUTION', primary.code),
  });
  for (const code of report.secondaryConstitutions) {
    const secondary = knowledge.constitutions.get(code);
    if (secondary) out.push({ category: 'DIET', title: `兼顾${secondary.name}`, text: secondary.advice.diet, cautions: [], source: cite('CONSTITUTION', code) });
  }
  for (const herb of primary.recommendedHerbs.slice(0, HERBS)) {
    out.push({
      category: 'HERB',
      title: herb.name,
      text: `功效：${herb.actions.join('、')}。请在中医师指导下使用，勿自行长期服用。`,
      cautions: herb.cautions,
      source: cite('HERB', herb.id),
    });
  }
  for (const point of primary.recommendedAcupoints.slice(0, ACUPOINTS)) {
    out.push({ category: 'ACUPOINT', title: `${point.name}（${point.code}）`, text: point.selfCare, cautions: [], source: cite('ACUPOINT', point.code) });
  }
  out.push({ category: 'EXERCISE', title: '运动', text: primary.advice.exercise, cautions: [], source: cite('CONSTITUTION', primary.code) });
  out.push({ category: 'SLEEP', title: '作息与睡眠', text: primary.advice.sleep, cautions: [], source: cite('CONSTITUTION', primary.code) });
  out.push({ category: 'EMOTION', title: '情志', text: primary.advice.emotions, cautions: [], source: cite('CONSTITUTION', primary.code) });
  return out;
}

/**
 * XiaoKe's care plans. `propose` builds a version from the latest report (read
 * with the user's consent) and stores it PROPOSED; `accept` makes it ACTIVE and
 * supersedes the plan it replaces. Every version stays readable.
 */
export class CarePlanService {
  constructor(private readonly deps: { database: Database; reports: ReportSource; knowledge: CareKnowledgeLookup }) {}

  /**
   * The version for the user's latest report: new (`created`) when the report is
   * newer than every plan, the existing one otherwise. CONSENT_REQUIRED without
   * the user's grant; NOT_FOUND when the user has no report yet.
   */
  async propose(userId: string): Promise<{ plan: CarePlanRow; created: boolean }> {
    const found = await this.deps.reports.latestReport(userId);
    if (!found) throw notFound('You have no diagnosis report yet: complete a consultation first, then XiaoKe can propose a care plan');
    const report = checkedReport(found);
    const [current] = await selectCarePlans(this.deps.database, [{ userId, version: null }]);
    // The common repeat: the plan for this report exists, and the knowledge base need not be asked again.
    if (current?.row.reportId === report.id) return { plan: current.row, created: false };
    const knowledge = await this.deps.knowledge([report.primaryConstitution, ...report.secondaryConstitutions], report.suggestedSyndromes);
    return insertCarePlan(this.deps.database, {
      userId,
      reportId: report.id,
      reportCreatedAt: new Date(report.createdAt),
      primaryConstitution: report.primaryConstitution,
      secondaryConstitutions: report.secondaryConstitutions,
      syndromes: report.suggestedSyndromes,
      recommendations: composeCarePlan(report, knowledge),
    });
  }

  /** Accepts a PROPOSED version: see `activateCarePlan` for the errors. */
  accept(userId: string, version: number): Promise<CarePlanRow> {
    if (!Number.isInteger(version) || version < 1) throw badInput(`version must be a positive integer; received ${version}`, 'input.version');
    return activateCarePlan(this.deps.database, userId, version);
  }
}
