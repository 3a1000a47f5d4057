// The difference between two client-facing API schemas, change by change, for `npm run schema:check`.
//
// What breaks is decided by graphql-js findBreakingChanges, whose rules are the
// client's: an output field made nullable (String! → String) breaks clients
// that rely on a value, and an argument or input field made non-null (ID → ID!)
// breaks operations that omit it. (Issue 7 words this "tightened on output or
// loosened on input"; for clients it is the other way round, and the reverse
// directions are listed as safe changes.) Added here, because graphql-js misses
// them: a default removed from a non-null argument or input field (it becomes
// required), and input field default changes. findDangerousChanges are warnings.
import {
  astFromValue, findBreakingChanges, findDangerousChanges, isEnumType, isInputObjectType, isInterfaceType,
  isNonNullType, isObjectType, isUnionType, print,
} from 'graphql';

/**
 * Every difference between two API schemas, each as
 * `{ kind, coordinate, description, old, new }` (old/new null when absent),
 * sorted into breaking, dangerous and safe.
 */
export function diffApiSchemas(oldSchema, newSchema) {
  const breaking = findBreakingChanges(oldSchema, newSchema).map((c) => fromGraphqlJs(c, oldSchema, newSchema));
  const dangerous = findDangerousChanges(oldSchema, newSchema).map((c) => fromGraphqlJs(c, oldSchema, newSchema));
  const flagged = new Set([...breaking, ...dangerous].map((c) => `${c.kind} ${c.coordinate}`));
  const { safe, extra } = walk(oldSchema, newSchema, flagged);
  for (const change of [...dangerous, ...extra]) {
    if (change.kind.endsWith('_MADE_REQUIRED')) breaking.push(change);
  }
  dangerous.splice(0, dangerous.length, ...[...dangerous, ...extra].filter((c) => !c.kind.endsWith('_MADE_REQUIRED')));
  const order = (a, b) => a.coordinate.localeCompare(b.coordinate) || a.kind.localeCompare(b.kind);
  return { breaking: breaking.sort(order), dangerous: dangerous.sort(order), safe: safe.sort(order) };
}

const EXPLAIN = {
  TYPE_REMOVED: 'type removed: operations that name it (fragments, variables) no longer validate',
  TYPE_CHANGED_KIND: 'type changed kind: selections and fragments written for the old kind no longer validate',
  TYPE_REMOVED_FROM_UNION: 'union member removed: fragments on it no longer validate, and results of that type stop coming',
  VALUE_REMOVED_FROM_ENUM: 'enum value removed: operations that send it fail; clients that switch on it never see it',
  REQUIRED_INPUT_FIELD_ADDED: 'required input field added: operations that build this input without it fail',
  IMPLEMENTED_INTERFACE_REMOVED: 'interface removed: fragments on the interface stop matching this type',
  FIELD_REMOVED: 'field removed: operations that select or send it no longer validate',
  REQUIRED_ARG_ADDED: 'required argument added: operations that do not pass it no longer validate',
  ARG_REMOVED: 'argument removed: operations that pass it no longer validate',
  ARG_MADE_REQUIRED: 'non-null argument lost its default: operations that omit it no longer validate',
  INPUT_FIELD_MADE_REQUIRED: 'non-null input field lost its default: inputs that omit it are rejected',
  ARG_DEFAULT_VALUE_CHANGE: 'argument default changed: operations that omit it get different results',
  INPUT_FIELD_DEFAULT_VALUE_CHANGE: 'input field default changed: inputs that omit it mean something else',
  OPTIONAL_ARG_ADDED: 'optional argument added',
  OPTIONAL_INPUT_FIELD_ADDED: 'optional input field added',
  VALUE_ADDED_TO_ENUM: 'enum value added: clients that switch over every value may meet one they do not know',
  TYPE_ADDED_TO_UNION: 'union member added: clients may receive a type they have no fragment for',
  IMPLEMENTED_INTERFACE_ADDED: 'interface added: fragments on the interface now also match this type',
  TYPE_ADDED: 'type added',
  FIELD_ADDED: 'field added',
  FIELD_TYPE_CHANGED: 'type changed compatibly (an output made non-null, or an input made nullable)',
  ARG_DEFAULT_VALUE_ADDED: 'argument default added',
  INPUT_FIELD_DEFAULT_VALUE_ADDED: 'input field default added',
  DEPRECATION_CHANGED: 'deprecation added, removed or reworded',
  DESCRIPTION_CHANGED: 'description changed',
};

// graphql-js reports changes as sentences (graphql 16); these recover the schema element from them.
// An unrecognised sentence is kept as it is (coordinate "?"), so that no change is ever dropped.
const N = '([_A-Za-z][_0-9A-Za-z]*)';
const re = (text) => new RegExp(`^${text.replaceAll('.', '\\.').replaceAll('N', N)}`);
const field = (t, f) => ({ type: t, field: f });
const arg = (t, f, a) => ({ type: t, field: f, arg: a });
const PARSERS = {
  TYPE_REMOVED: [re('(?:Standard scalar )?N was removed'), (t) => ({ type: t })],
  TYPE_CHANGED_KIND: [re('N changed from '), (t) => ({ type: t })],
  TYPE_REMOVED_FROM_UNION: [re('N was removed from union type N.$'), (m, t) => ({ type: t, members: true, member: m })],
  TYPE_ADDED_TO_UNION: [re('N was added to union type N.$'), (m, t) => ({ type: t, members: true })],
  VALUE_REMOVED_FROM_ENUM: [re('N was removed from enum type N.$'), (v, t) => ({ type: t, value: v })],
  VALUE_ADDED_TO_ENUM: [re('N was added to enum type N.$'), (v, t) => ({ type: t, value: v })],
  REQUIRED_INPUT_FIELD_ADDED: [re('A required field N on input type N was added.$'), (f, t) => field(t, f)],
  OPTIONAL_INPUT_FIELD_ADDED: [re('An optional field N on input type N was added.$'), (f, t) => field(t, f)],
  IMPLEMENTED_INTERFACE_REMOVED: [re('N no longer implements interface N.$'), (t, i) => ({ type: t, interfaces: true, interface: i })],
  IMPLEMENTED_INTERFACE_ADDED: [re('N added to interfaces implemented by N.$'), (i, t) => ({ type: t, interfaces: true })],
  FIELD_REMOVED: [re('N.N was removed.$'), field],
  FIELD_CHANGED_KIND: [re('N.N changed type from '), field],
  ARG_REMOVED: [re('N.N arg N was removed.$'), arg],
  ARG_CHANGED_KIND: [re('N.N arg N has changed type '), arg],
  ARG_DEFAULT_VALUE_CHANGE: [re('N.N arg N (?:defaultValue was removed|has changed defaultValue)'), arg],
  REQUIRED_ARG_ADDED: [re('A required arg N on N.N was added.$'), (a, t, f) => arg(t, f, a)],
  OPTIONAL_ARG_ADDED: [re('An optional arg N on N.N was added.$'), (a, t, f) => arg(t, f, a)],
  DIRECTIVE_REMOVED: [re('N was removed.$'), (d) => ({ directive: d })],
  DIRECTIVE_ARG_REMOVED: [re('N was removed from N.$'), (a, d) => ({ directive: d, arg: a })],
  REQUIRED_DIRECTIVE_ARG_ADDED: [re('A required arg N on directive N was added.$'), (a, d) => ({ directive: d, arg: a })],
  DIRECTIVE_REPEATABLE_REMOVED: [re('Repeatable flag was removed from N.$'), (d) => ({ directive: d })],
  DIRECTIVE_LOCATION_REMOVED: [re('[A-Z_]+ was removed from N.$'), (d) => ({ directive: d })],
};

function fromGraphqlJs(change, oldSchema, newSchema) {
  const [pattern, locate] = PARSERS[change.type] ?? [];
  const match = pattern?.exec(change.description);
  if (!match) return { kind: change.type, coordinate: '?', description: change.description, old: null, new: null };
  const at = locate(...match.slice(1));
  const after = lookup(newSchema, at);
  // A non-null argument that loses its default is required from now on; graphql-js only calls it dangerous.
  const kind = change.type === 'ARG_DEFAULT_VALUE_CHANGE' && after?.defaultValue === undefined && isNonNullType(after?.type)
    ? 'ARG_MADE_REQUIRED'
    : change.type;
  return {
    kind,
    coordinate: coordinateOf(at),
    description: explain(kind, at, oldSchema, newSchema) ?? change.description,
    old: render(oldSchema, at),
    new: render(newSchema, at),
    // What else a usage check must look at: the member a union lost, the interface a type no longer implements.
    ...(kind === 'TYPE_REMOVED_FROM_UNION' ? { member: at.member } : {}),
    ...(kind === 'IMPLEMENTED_INTERFACE_REMOVED' ? { interface: at.interface } : {}),
  };
}

function explain(kind, at, oldSchema, newSchema) {
  if (kind === 'FIELD_CHANGED_KIND' || kind === 'ARG_CHANGED_KIND') {
    const [before, after] = [lookup(oldSchema, at)?.type, lookup(newSchema, at)?.type];
    const input = kind === 'ARG_CHANGED_KIND' || isInputObjectType(oldSchema.getType(at.type));
    if (input && !isNonNullType(before) && isNonNullType(after) && String(before) === String(after.ofType)) {
      return `${at.arg ? 'argument' : 'input field'} made required (non-null): operations that omit it or pass null fail`;
    }
    if (!input && isNonNullType(before) && !isNonNullType(after) && String(before.ofType) === String(after)) {
      return 'output made nullable: clients that rely on a value may now get null';
    }
    return `${input ? (at.arg ? 'argument' : 'input field') : 'field'} type changed incompatibly`;
  }
  return EXPLAIN[kind];
}

function coordinateOf(at) {
  if (at.directive) return `@${at.directive}${at.arg ? `(${at.arg}:)` : ''}`;
  if (at.value) return `${at.type}.${at.value}`;
  if (at.arg) return `${at.type}.${at.field}(${at.arg}:)`;
  return at.field ? `${at.type}.${at.field}` : at.type;
}

function lookup(schema, at) {
  if (at.directive) {
    const directive = schema.getDirective(at.directive);
    return at.arg ? directive?.args.find((a) => a.name === at.arg) : directive;
  }
  const type = schema.getType(at.type);
  if (!at.field && !at.value) return type;
  if (at.value) return isEnumType(type) ? type.getValue(at.value) : undefined;
  const field = type && 'getFields' in type ? type.getFields()[at.field] : undefined;
  return at.arg ? field?.args?.find((a) => a.name === at.arg) : field;
}

/** How the element reads in one schema, for "old → new"; null when it is absent. */
function render(schema, at) {
  const element = lookup(schema, at);
  if (!element) return null;
  if (at.members) return element.getTypes().map((t) => t.name).join(' | ') || '(no members)';
  if (at.interfaces) return element.getInterfaces().map((t) => t.name).join(' & ') || '(no interfaces)';
  if (at.value) return at.value + (element.deprecationReason != null ? ' (deprecated)' : '');
  if (at.directive && !at.arg) return `${element.isRepeatable ? 'repeatable ' : ''}on ${element.locations.join(' | ')}`;
  if (at.field || at.arg) return withDefault(element);
  return kindOf(element);
}

function withDefault(element) {
  if (element.defaultValue === undefined) return String(element.type);
  const ast = astFromValue(element.defaultValue, element.type);
  return `${element.type} = ${ast ? print(ast) : String(element.defaultValue)}`;
}

function kindOf(type) {
  if (isObjectType(type)) return 'object type';
  if (isInterfaceType(type)) return 'interface';
  if (isUnionType(type)) return 'union';
  if (isEnumType(type)) return 'enum';
  if (isInputObjectType(type)) return 'input type';
  return 'scalar';
}

/**
 * What graphql-js does not report: additions and compatible changes (safe),
 * and input field defaults (`extra`: made required, or changed).
 * `flagged` holds "KIND coordinate" of what graphql-js reported already.
 */
function walk(oldSchema, newSchema, flagged) {
  const safe = [];
  const extra = [];
  const add = (list, kind, at, before, after) => list.push({ kind, coordinate: coordinateOf(at), description: EXPLAIN[kind], old: before, new: after });
  const compareDocs = (at, before, after) => {
    if ((before.description ?? '') !== (after.description ?? '')) add(safe, 'DESCRIPTION_CHANGED', at, before.description ?? null, after.description ?? null);
    if ('deprecationReason' in before && before.deprecationReason !== after.deprecationReason) {
      add(safe, 'DEPRECATION_CHANGED', at, before.deprecationReason ?? null, after.deprecationReason ?? null);
    }
  };
  const compareInputs = (at, before, after, changedKind, isArg) => {
    const typeChanged = String(before.type) !== String(after.type);
    if (typeChanged && flagged.has(`${changedKind} ${coordinateOf(at)}`)) return;
    if (typeChanged) add(safe, 'FIELD_TYPE_CHANGED', at, withDefault(before), withDefault(after));
    compareDocs(at, before, after);
    const [was, now] = [before.defaultValue, after.defaultValue];
    if (was === undefined && now !== undefined) add(safe, isArg ? 'ARG_DEFAULT_VALUE_ADDED' : 'INPUT_FIELD_DEFAULT_VALUE_ADDED', at, withDefault(before), withDefault(after));
    // Arguments' default changes are graphql-js's (ARG_DEFAULT_VALUE_CHANGE); input fields' are not.
    if (isArg || was === undefined || typeChanged) return;
    if (now === undefined && isNonNullType(after.type)) add(extra, 'INPUT_FIELD_MADE_REQUIRED', at, withDefault(before), withDefault(after));
    else if (withDefault(before) !== withDefault(after)) add(extra, 'INPUT_FIELD_DEFAULT_VALUE_CHANGE', at, withDefault(before), withDefault(after));
  };

  for (const [name, after] of Object.entries(newSchema.getTypeMap())) {
    if (name.startsWith('__')) continue;
    const before = oldSchema.getType(name);
    if (!before) {
      add(safe, 'TYPE_ADDED', { type: name }, null, kindOf(after));
      continue;
    }
    if (kindOf(before) !== kindOf(after)) continue;
    compareDocs({ type: name }, before, after);
    if (isObjectType(after) || isInterfaceType(after)) {
      const oldFields = before.getFields();
      for (const field of Object.values(after.getFields())) {
        const at = { type: name, field: field.name };
        const was = oldFields[field.name];
        if (!was) {
          add(safe, 'FIELD_ADDED', at, null, String(field.type));
          continue;
        }
        if (String(was.type) !== String(field.type) && !flagged.has(`FIELD_CHANGED_KIND ${coordinateOf(at)}`)) {
          add(safe, 'FIELD_TYPE_CHANGED', at, String(was.type), String(field.type));
        }
        compareDocs(at, was, field);
        for (const arg of field.args) {
          const old = was.args.find((a) => a.name === arg.name);
          if (old) compareInputs({ ...at, arg: arg.name }, old, arg, 'ARG_CHANGED_KIND', true);
        }
      }
    } else if (isInputObjectType(after)) {
      const oldFields = before.getFields();
      for (const field of Object.values(after.getFields())) {
        if (oldFields[field.name]) compareInputs({ type: name, field: field.name }, oldFields[field.name], field, 'FIELD_CHANGED_KIND', false);
      }
    } else if (isEnumType(after)) {
      for (const value of after.getValues()) {
        const old = before.getValue(value.name);
        if (old) compareDocs({ type: name, value: value.name }, old, value);
      }
    }
  }
  return { safe, extra };
}
