// Field selectors (`metadata.name=foo,status.phase!=Running`) with the escaping of
// `k8s.io/apimachinery/pkg/fields`: `\,` `\=` `\!` and `\\` inside values.
import { SelectorParseError, checkSelectorLength } from './label-selector';

export interface FieldRequirement {
  field: string;
  operator: 'equals' | 'notEquals';
  value: string;
}

/** Splits `text` on unescaped `separator`, keeping escapes for the next stage. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '\\') {
      current += char + (text[index + 1] ?? '');
      index++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  let result = '';
  for (let index = 0; index < value.length; index++) {
    const char = value[index];
    if (char === '\\') {
      const next = value[index + 1];
      if (next === undefined || !'\\,=!'.includes(next)) {
        throw new SelectorParseError(`invalid field selector: invalid escape sequence in "${value}"`, 'fieldSelector');
      }
      result += next;
      index++;
    } else if (char === '=' || char === ',' || char === '!') {
      throw new SelectorParseError(`invalid field selector: unescaped "${char}" in value "${value}"`, 'fieldSelector');
    } else {
      result += char;
    }
  }
  return result;
}

function parseTerm(term: string): FieldRequirement {
  for (const [token, operator] of [['!=', 'notEquals'], ['==', 'equals'], ['=', 'equals']] as const) {
    const index = term.indexOf(token);
    if (index > 0) {
      const field = term.slice(0, index).trim();
      return { field, operator, value: unescape(term.slice(index + token.length)) };
    }
  }
  throw new SelectorParseError(`invalid selector: '${term}'; can't understand '${term}'`, 'fieldSelector');
}

export function parseFieldSelector(text: string | undefined): FieldRequirement[] {
  if (text === undefined || text.trim() === '') return [];
  checkSelectorLength(text, 'fieldSelector');
  return splitUnescaped(text, ',')
    .filter((term) => term.trim() !== '')
    .map(parseTerm);
}

export function matchesFields(requirements: readonly FieldRequirement[], fieldValue: (field: string) => string): boolean {
  return requirements.every((requirement) => {
    const actual = fieldValue(requirement.field);
    return requirement.operator === 'equals' ? actual === requirement.value : actual !== requirement.value;
  });
}

/** The single `field=value` a selector pins, if any: lets the node authorizer recognise a kubelet's scoped list. */
export function pinnedFieldValue(requirements: readonly FieldRequirement[], field: string): string | undefined {
  const pins = requirements.filter((requirement) => requirement.field === field && requirement.operator === 'equals');
  return pins.length === 1 ? pins[0]?.value : undefined;
}
