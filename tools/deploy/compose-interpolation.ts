// Docker Compose's variable interpolation (compose-spec, "Interpolation"), as `docker compose` runs
// it: over every value of the whole file, BEFORE profiles are applied — so a `${VAR:?message}` in a
// profile-gated service aborts every `docker compose up`, profile or not. There is no Docker engine
// here (ARCHITECTURE.md), so the deploy spec checks the file with this implementation:
//   $$ → $;  $VAR, ${VAR};  ${VAR:-default} (unset or empty), ${VAR-default} (unset);
//   ${VAR:?error} (unset or empty: fail), ${VAR?error} (unset: fail);
//   ${VAR:+replacement} (set and non-empty), ${VAR+replacement} (set); defaults may nest ${…}.

export class InterpolationError extends Error {
  constructor(
    readonly variable: string,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: required variable ${variable} is missing a value: ${message}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;
const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** One string, interpolated; `path` names where it is (for the error). */
export function interpolateString(text: string, env: Env, path = ''): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c !== '$') {
      out += c;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2);
      out += expand(text.slice(i + 2, end), env, path);
      i = end + 1;
    } else {
      const name = NAME.exec(text.slice(i + 1))?.[0];
      if (!name) {
        out += '$';
        i += 1;
      } else {
        out += env[name] ?? '';
        i += 1 + name.length;
      }
    }
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth += 1;
      i += 1;
    } else if (text[i] === '}' && (depth -= 1) === 0) return i;
  }
  throw new Error(`unclosed \${ in "${text}"`);
}

function expand(body: string, env: Env, path: string): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new Error(`invalid interpolation "\${${body}}" at ${path}`);
  const rest = body.slice(name.length);
  const value = env[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  if (rest === '') return value ?? '';
  const operator = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (!operator) throw new Error(`invalid interpolation "\${${body}}" at ${path}`);
  const word = () => interpolateString(rest.slice(operator.length), env, path);
  switch (operator) {
    case ':-':
      return nonEmpty ? (value as string) : word();
    case '-':
      return set ? (value as string) : word();
    case ':?':
      if (!nonEmpty) throw new InterpolationError(name, path, word());
      return value as string;
    case '?':
      if (!set) throw new InterpolationError(name, path, word());
      return value as string;
    case ':+':
      return nonEmpty ? word() : '';
    default:
      return set ? word() : '';
  }
}

/** The whole parsed file, interpolated value by value (keys are not), as Compose does. */
export function interpolateDocument(document: unknown, env: Env, path = ''): unknown {
  if (typeof document === 'string') return interpolateString(document, env, path);
  if (Array.isArray(document))
    return document.map((item, index) => interpolateDocument(item, env, `${path}[${index}]`));
  if (document && typeof document === 'object')
    return Object.fromEntries(
      Object.entries(document).map(([key, value]) => [
        key,
        interpolateDocument(value, env, path ? `${path}.${key}` : key),
      ]),
    );
  return document;
}
