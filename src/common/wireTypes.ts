/**
 * Parameter types and the name rule, from the generated `src/generated/wire.json` (written by
 * `python_bridge/o16n/wire/export.py`, npm script `build:wire`): the o16n wire vocabulary has one
 * home, Python's `o16n.wire`; nothing here is kept by hand.
 */
import wire from '../generated/wire.json';

/** A parameter type as the o16n API spells it ("numeric", "data.frame", ...). */
export type WireType = string;

interface IWireVocabulary {
  wireTypes: string[];
  aliases: Record<string, string>;
  pythonNames: Record<string, string>;
  namePattern: string;
  nameRule: string;
  identifierRule: string;
}

const vocabulary: IWireVocabulary = wire;

/** The wire types, in the order the server lists them. */
export const WIRE_TYPES: readonly WireType[] = vocabulary.wireTypes;

/** Service names and versions: the server's one rule. */
export const NAME_PATTERN = new RegExp(vocabulary.namePattern);
export const NAME_RULE = vocabulary.nameRule;
export const IDENTIFIER_RULE = vocabulary.identifierRule;

/** The wire type for a wire name or one of its aliases (case-insensitive); null when unknown. */
export function canonicalType(type: string | null | undefined): WireType | null {
  if (!type) {
    return null;
  }
  const key = type.trim().toLowerCase();
  if (WIRE_TYPES.includes(key)) {
    return key;
  }
  return vocabulary.aliases[key] ?? null;
}

/** The Python type service code sees for a wire type ("float" for "numeric"). */
export function pythonName(type: WireType): string {
  return vocabulary.pythonNames[type] ?? type;
}

/** What the type pickers show: "float (numeric)". */
export function typeLabel(type: WireType): string {
  const python = pythonName(type);
  return python === type ? type : `${python} (${type})`;
}

/** Why a service name or version breaks the server's rule; null when it is fine. */
export function checkName(value: string, what: 'Name' | 'Version'): string | null {
  return NAME_PATTERN.test(value) ? null : `${what} ${NAME_RULE}.`;
}
