/**
 * Statements as values: `sql` tagged templates number their own placeholders, so no
 * caller counts `$n` by hand, and fragments (a visibility predicate, a column list)
 * nest inside statements with their parameters carried along.
 *
 *   const visible = sql`t.team_id = ANY(${teamIds}::uuid[])`;
 *   const q = sql`SELECT id FROM tickets t WHERE t.id = ${id} AND ${visible}`;
 *   // q.text: 'SELECT id FROM tickets t WHERE t.id = $1 AND t.team_id = ANY($2::uuid[])'
 *
 * Interpolated values are always bind parameters, never text; `sql.raw` is the one way to
 * put text into a statement, and only for constants written in this repository (column
 * lists, aliases, ORDER BY keywords chosen from a fixed set), never for input.
 */
export class Sql {
  /** A prepared-statement name (see `named`): Postgres parses and plans it once per connection. */
  readonly name?: string;

  private constructor(
    private readonly strings: readonly string[],
    private readonly values: readonly unknown[],
    name?: string,
  ) {
    if (name !== undefined) this.name = name;
  }

  /** @internal the tag's constructor; use `sql`. */
  static of(strings: readonly string[], values: readonly unknown[], name?: string): Sql {
    // Flatten nested fragments now so text/values stay one linear pass.
    const outStrings: string[] = [strings[0]];
    const outValues: unknown[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v instanceof Sql) {
        outStrings[outStrings.length - 1] += v.strings[0];
        for (let j = 0; j < v.values.length; j++) {
          outValues.push(v.values[j]);
          outStrings.push(v.strings[j + 1]);
        }
        outStrings[outStrings.length - 1] += strings[i + 1];
      } else {
        outValues.push(v);
        outStrings.push(strings[i + 1]);
      }
    }
    return new Sql(outStrings, outValues, name);
  }

  /** The statement with `$1…$n` placeholders. */
  get text(): string {
    let text = this.strings[0];
    for (let i = 1; i < this.strings.length; i++) text += `$${i}${this.strings[i]}`;
    return text;
  }

  /** The bind parameters, in placeholder order. */
  get params(): unknown[] {
    return [...this.values];
  }

  /** The same statement, run as the named prepared statement `name` (hot paths; see db.ts). */
  named(name: string): Sql {
    return new Sql(this.strings, this.values, name);
  }
}

export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  return Sql.of(strings, values);
}

/** Trusted statement text (constants only, never input). */
sql.raw = (text: string): Sql => Sql.of([text], []);

/** Fragments joined by `separator` (default `, `); an empty list gives an empty fragment. */
sql.join = (parts: readonly Sql[], separator: Sql | string = ', '): Sql => {
  const sep = typeof separator === 'string' ? sql.raw(separator) : separator;
  if (!parts.length) return sql.raw('');
  const strings = [''];
  const values: unknown[] = [];
  parts.forEach((part, i) => {
    if (i) {
      values.push(sep);
      strings.push('');
    }
    values.push(part);
    strings.push('');
  });
  return Sql.of(strings, values);
};

/** `a AND b AND …` over the fragments given (TRUE for none). */
sql.and = (parts: readonly Sql[]): Sql => (parts.length ? sql`(${sql.join(parts, ' AND ')})` : sql.raw('TRUE'));

/** A literal empty fragment, for optional clauses: sql`… ${cond ? sql`AND x = ${v}` : sql.empty}`. */
sql.empty = Sql.of([''], []);
