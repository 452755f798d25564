/**
 * The base of every typed error. The classes themselves are generated from
 * the engine's one table (errors_table.ts, by scripts/gen-tables).
 */

/** Base class of every Net error. */
export class NetError extends Error {
  /**
   * The stable "<area>:<reason>" kind, the same in every language; also
   * `code`, where Node code looks for it.
   */
  readonly kind: string;
  /** The kind, as Node's `err.code` convention has it. */
  readonly code: string;
  /** The part of Net that failed ("bus", "mesh", "redex", ...). */
  readonly area: string;
  /** What went wrong, the same word in every area ("shutdown", "io", ...). */
  readonly reason: string;
  /** The C ABI's numeric code (negative). */
  readonly status: number;
  /** What happened, without the kind. */
  readonly detail: string;

  constructor(message: string, kind = 'unknown', status = 0) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
    this.code = kind;
    const colon = kind.indexOf(':');
    this.area = colon > 0 ? kind.slice(0, colon) : kind;
    this.reason = colon > 0 ? kind.slice(colon + 1) : kind;
    this.status = status;
    this.detail = message.startsWith(`${kind}: `) ? message.slice(kind.length + 2) : message;
  }
}

/** The class of one kind (used by the generated table). */
export function kindClass(name: string, kind: string, status: number): typeof NetError {
  const cls = class extends NetError {
    constructor(message: string) {
      super(message, kind, status);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}
