/**
 * A small strict command-line parser: `--flag`, `--opt value`, `--opt=value`, `-o value`,
 * `-oVALUE`, `-qv` (flags together), positionals, `-` (standard input or output) as a positional,
 * and `--` to end options. Unknown options and missing values are usage errors.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  /** Takes a value (`--level 6`) rather than being a boolean flag. */
  value?: boolean;
  /** Single-letter alias, without the dash. */
  short?: string;
}

export interface Parsed {
  options: Map<string, string | true>;
  positionals: string[];
}

export function parseArgs(argv: string[], spec: Record<string, OptionSpec>): Parsed {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(spec)
      .filter(([, s]) => s.short)
      .map(([name, s]) => [s.short as string, name]),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.length >= 2 && arg[0] === '-') {
      name = byShort.get(arg[1]);
      if (!name) throw new UsageError(`unknown option -${arg[1]}`);
      if (arg.length > 2) {
        if (spec[name].value) {
          // -oOUT
          inline = arg.slice(2);
        } else {
          // -qv: flags together; the last may take a value (-qo OUT)
          for (const c of arg.slice(1, -1)) {
            const flag = byShort.get(c);
            if (!flag) throw new UsageError(`unknown option -${c}`);
            if (spec[flag].value) throw new UsageError(`option -${c} needs a value`);
            options.set(flag, true);
          }
          name = byShort.get(arg[arg.length - 1]);
          if (!name) throw new UsageError(`unknown option -${arg[arg.length - 1]}`);
        }
      }
    } else {
      positionals.push(arg);
      continue;
    }
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option --${name}`);
    if (s.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`option --${name} needs a value`);
      options.set(name, v);
    } else {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      options.set(name, true);
    }
  }
  return { options, positionals };
}
