// Syntax check for label selector strings (`app=web,tier in (a,b),!legacy`), following
// apimachinery's labels.Parse grammar, so a bad `?labelSelector=` can be refused with a cause.
import type { FieldError } from './field-error';
import { fieldInvalid } from './field-error';
import { labelValueProblems, qualifiedNameProblems } from './names';

type Token = { kind: 'id' | 'op' | 'open' | 'close' | 'comma' | 'not'; text: string };

const SPECIAL = new Set([' ', '\t', '\n', '\r', ',', '(', ')', '=', '!', '<', '>']);

const PUNCT: Record<string, Token['kind']> = { '(': 'open', ')': 'close', ',': 'comma' };

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] ?? '';
    const two = input.slice(i, i + 2);
    let token: Token;
    if (/\s/.test(c)) {
      i++;
      continue;
    } else if (PUNCT[c]) token = { kind: PUNCT[c], text: c };
    else if (two === '!=' || two === '==') token = { kind: 'op', text: two };
    else if (c === '!') token = { kind: 'not', text: c };
    else if (c === '=' || c === '<' || c === '>') token = { kind: 'op', text: c };
    else {
      let j = i;
      while (j < input.length && !SPECIAL.has(input[j] ?? '')) j++;
      token = { kind: 'id', text: input.slice(i, j) };
    }
    out.push(token);
    i += token.text.length;
  }
  return out;
}

/** Returns upstream-like problems for a selector string; [] when it parses and its keys/values are valid. */
export function validateLabelSelectorString(selector: string, field = 'labelSelector'): FieldError[] {
  if (typeof selector !== 'string') return [fieldInvalid(field, selector, 'must be a string')];
  const tokens = tokenize(selector);
  const errs: FieldError[] = [];
  const bad = (msg: string): FieldError[] => [fieldInvalid(field, selector, `unable to parse requirement: ${msg}`)];
  const checkKey = (k: string) => qualifiedNameProblems(k).forEach((p) => errs.push(fieldInvalid(field, k, p)));
  const checkValue = (v: string) => labelValueProblems(v).forEach((p) => errs.push(fieldInvalid(field, v, p)));
  let i = 0;
  const peek = () => tokens[i];
  while (i < tokens.length) {
    let t = peek();
    if (t?.kind === 'not') {
      i++;
      t = peek();
      if (t?.kind !== 'id') return bad('expected a key after "!"');
      checkKey(t.text);
      i++;
    } else if (t?.kind === 'id') {
      checkKey(t.text);
      i++;
      const op = peek();
      if (op?.kind === 'op') {
        i++;
        const v = peek();
        // `key=` selects an empty value, as upstream allows.
        if (v?.kind === 'id') {
          i++;
          checkValue(v.text);
        } else if (v !== undefined && v.kind !== 'comma') return bad(`found '${v.text}', expected: identifier`);
        if ((op.text === '<' || op.text === '>') && !/^-?\d+$/.test(v?.kind === 'id' ? v.text : ''))
          return bad(`for 'Gt', 'Lt' operators, the value must be an integer`);
      } else if (op?.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        i++;
        if (peek()?.kind !== 'open') return bad(`found '${peek()?.text ?? 'EOS'}', expected: '('`);
        i++;
        for (;;) {
          const v = peek();
          if (v?.kind === 'id') {
            checkValue(v.text);
            i++;
          }
          const sep = peek();
          if (sep?.kind === 'comma') i++;
          else if (sep?.kind === 'close') break;
          else return bad(`found '${sep?.text ?? 'EOS'}', expected: ',' or ')'`);
        }
        i++;
      } else if (op !== undefined && op.kind !== 'comma') {
        return bad(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    } else {
      return bad(`found '${t?.text ?? 'EOS'}', expected: !, identifier, or 'end of string'`);
    }
    const sep = peek();
    if (sep === undefined) break;
    if (sep.kind !== 'comma') return bad(`found '${sep.text}', expected: ','`);
    i++;
    if (i >= tokens.length) return bad("found 'EOS', expected: identifier");
  }
  return errs;
}
