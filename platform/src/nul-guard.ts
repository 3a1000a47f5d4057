import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from 'graphql';
import { ErrorCode } from './errors.js';

/**
 * Where a string input holds U+0000, as an input path: `$input[3].source` for
 * a variable, `recordObservations.input[3].source` for a literal argument.
 */
export type NulLocation = string;

/**
 * The first string in the operation's inputs holding U+0000, or undefined.
 * PostgreSQL cannot store that character in any text column (the driver fails
 * the whole statement), so no String, ID or custom-scalar string may carry it.
 * Looks at every string literal of the document (arguments, directive
 * arguments, variable defaults, nested input objects and lists) and at every
 * string in the variables, used or not.
 */
export function findNulCharacter(document: DocumentNode | undefined, variables: Record<string, unknown> | undefined): NulLocation | undefined {
  // Paths are built only once a NUL is known to be there: the common case is one quick scan.
  if (variables && holdsNul(variables)) {
    for (const [name, value] of Object.entries(variables)) {
      const found = inJson(value, `$${name}`);
      if (found) return found;
    }
  }
  if (!document) return undefined;
  // Apollo Server hands the same DocumentNode to every request with the same text.
  let known = literalNul.get(document);
  if (known === undefined) {
    known = inDocument(document) ?? null;
    literalNul.set(document, known);
  }
  return known ?? undefined;
}

const literalNul = new WeakMap<DocumentNode, NulLocation | null>();

function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value !== null && typeof value === 'object') {
    for (const key in value) if (holdsNul((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function inDocument(document: DocumentNode): NulLocation | undefined {
  let found: NulLocation | undefined;
  visit(document, {
    enter(node) {
      if (found) return false;
      if (node.kind === Kind.FIELD || node.kind === Kind.DIRECTIVE) {
        const owner = node.kind === Kind.DIRECTIVE ? `@${node.name.value}` : node.name.value;
        for (const argument of node.arguments ?? []) {
          found = inLiteral(argument.value, `${owner}.${argument.name.value}`);
          if (found) return false;
        }
      } else if (node.kind === Kind.VARIABLE_DEFINITION && node.defaultValue) {
        found = inLiteral(node.defaultValue, `$${node.variable.name.value}`);
        if (found) return false;
      }
      return undefined;
    },
  });
  return found;
}

function inJson(value: unknown, path: string): NulLocation | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = inJson(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const found = inJson(inner, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

function inLiteral(value: ValueNode, path: string): NulLocation | undefined {
  switch (value.kind) {
    case Kind.STRING:
      return value.value.includes('\u0000') ? path : undefined;
    case Kind.LIST:
      for (let i = 0; i < value.values.length; i += 1) {
        const found = inLiteral(value.values[i]!, `${path}[${i}]`);
        if (found) return found;
      }
      return undefined;
    case Kind.OBJECT:
      for (const field of value.fields) {
        const found = inLiteral(field.value, `${path}.${field.name.value}`);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** The refusal: BAD_USER_INPUT with the input path, answered with HTTP 400 like any other invalid variable. */
export function nulCharacterError(location: NulLocation): GraphQLError {
  return new GraphQLError(`Text may not contain the NUL character (U+0000); received one in ${location}`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, field: location.replace(/^\$/, ''), http: { status: 400 } },
  });
}

/**
 * Apollo Server plugin: refuses an operation whose inputs hold U+0000 once it
 * has parsed and validated, before any resolver runs, so nothing of it is
 * written (a resolver that fails midway through a list would otherwise leave
 * part of it stored, and the driver's error would surface as INTERNAL).
 */
export function refuseNulCharacters<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const location = findNulCharacter(document, request.variables as Record<string, unknown> | undefined);
          if (location) throw nulCharacterError(location);
        },
      };
    },
  };
}
