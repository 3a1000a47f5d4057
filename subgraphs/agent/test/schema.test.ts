import { readFileSync } from 'node:fs';
import { Kind, visit, type ASTNode, type EnumTypeDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { migrationsDir } from '../src/migrate.js';
import { typeDefs } from '../src/server.js';
import { PERSONAS } from '../src/service/personas.js';

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

  it('offers exactly the roles, agents and providers the code and the migrations know', () => {
    const migration = readFileSync(new URL('0002_agents.sql', `file://${migrationsDir}`), 'utf8');
    const rows = [...migration.matchAll(/\('(\w+)', \d+, '[^']+', '[^']+', '(\w+)'/g)].map((m) => [m[1], m[2]]);
    expect(rows.map(([id]) => id)).toEqual(Object.keys(PERSONAS));
    expect(rows.map(([, role]) => role)).toEqual(enumValues('AgentRole'));
    expect(enumValues('ReplyProvider')).toEqual(['OPENAI_COMPATIBLE', 'OFFLINE']);
    expect(enumValues('MessageRole')).toEqual(['USER', 'AGENT']);
    const text = typeDefs.loc!.source.body;
    for (const id of Object.keys(PERSONAS)) expect(text).toContain(`\`${id}\``);
  });
});
