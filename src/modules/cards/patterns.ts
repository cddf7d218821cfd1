import { RE2JS } from 're2js';

/**
 * Card-type patterns come from operators and run on sellers' input, so they run on RE2 (re2js):
 * matching is linear in the input whatever the pattern, and there is no catastrophic pattern to
 * detect. RE2 has no look-around or back-references; a pattern using them is refused at the door.
 */
export type CompiledPattern = { test(input: string): boolean };

const compiled = new Map<string, RE2JS>();

function compile(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    compiled.set(pattern, re);
  }
  return re;
}

/** Whether the whole of `input` matches `pattern` (anchored or not, a card field matches in full). */
export function matchesPattern(pattern: string, input: string): boolean {
  return compile(pattern).testExact(input);
}

/** Why an operator's pattern is refused, or undefined when it is usable. */
export function patternProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
  } catch {
    return 'is not a regular expression the linear-time engine (RE2 syntax) accepts: look-around and back-references are not supported';
  }
  if (!pattern.startsWith('^') || !pattern.endsWith('$'))
    return 'must be anchored: start with ^ and end with $';
  return undefined;
}
