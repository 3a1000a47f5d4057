import { Kind, visit, type ASTNode, type EnumTypeDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { typeDefs } from '../src/server.js';
import { AGENT_IDS } from '../src/service/agents.js';
import { CONSTITUTION_CODES } from '../src/service/constitutions.js';
import { METHODS } from '../src/service/findings.js';
import { COMPLEXION_SIGNS } from '../src/service/inspection.js';
import { COUGH_SIGNS, ODOUR_SIGNS, VOICE_SIGNS } from '../src/service/listening.js';

function enumValues(name: string): string[] {
  const node = typeDefs.definitions.find((d): d is EnumTypeDefinitionNode => d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === name);
  if (!node) throw new Error(`no enum ${name}`);
  return (node.values ?? []).map((v) => v.name.value);
}

describe('schema.graphql', () => {
  it('describes every type, field, argument, enum value and input field', () => {
    const missing: string[] = [];
    let typeName = '';
    visit(typeDefs, {
      enter(node: ASTNode) {
        if (!('name' in node) || !node.name || !/Definition$/.test(node.kind) || node.kind === Kind.DIRECTIVE_DEFINITION) return;
        if (/TypeDefinition$/.test(node.kind)) typeName = node.name.value;
        const root = node.kind === Kind.OBJECT_TYPE_DEFINITION && ['Query', 'Mutation'].includes(node.name.value);
        const description = 'description' in node ? node.description?.value.trim() : undefined;
        if (!description && !root) missing.push(`${node.kind} ${typeName}.${node.name.value}`);
      },
    });
    expect(missing).toEqual([]);
  });

  it('offers exactly the values the rules handle', () => {
    expect(enumValues('DiagnosticMethod')).toEqual([...METHODS]);
    expect(enumValues('Complexion')).toEqual(Object.keys(COMPLEXION_SIGNS));
    expect(enumValues('VoiceVolume')).toEqual(Object.keys(VOICE_SIGNS));
    expect(enumValues('Cough')).toEqual(['NONE', ...Object.keys(COUGH_SIGNS)]);
    expect(enumValues('Odour')).toEqual(['NONE', ...Object.keys(ODOUR_SIGNS)]);
    expect(enumValues('ConsultationStatus')).toEqual(['OPEN', 'COMPLETED', 'CANCELLED']);
  });

  it('documents the constitution codes and agent ids it accepts', () => {
    const text = typeDefs.loc!.source.body;
    for (const code of CONSTITUTION_CODES) expect(text).toContain(`\`${code}\``);
    for (const id of AGENT_IDS) expect(text).toContain(`\`${id}\``);
  });
});
