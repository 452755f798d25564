/**
 * Capabilities: what a node can do, as tags and metadata; the predicates that
 * ask for it; subnets. Every operation runs in the engine, so a set or a
 * predicate means here exactly what it means in Rust, Go, Python or C.
 *
 * ```ts
 * const caps = new CapabilitySet(['inference'])
 *   .withHardware({ cpuCores: 16, memoryGb: 64, gpu: { vendor: 'nvidia', vramGb: 24 } });
 * Predicate.exists('hardware.gpu').and(Predicate.atLeast('hardware.gpu.vram_gb', 16)).matches(caps); // true
 * SubnetId.parse('3.7').toString(); // '3.7.0.0'
 * ```
 */
import * as native from '@netmesh/core';
import { call } from './errors';

/** A GPU (the `hardware.gpu.*` tags). */
export interface Gpu {
  vendor?: string;
  model?: string;
  vramGb?: number;
  count?: number;
}

/** The hardware view (the `hardware.*` tags). */
export interface Hardware {
  cpuCores?: number;
  cpuThreads?: number;
  memoryGb?: number;
  gpu?: Gpu;
}

/** The software view: models and tools (many each), runtime versions by name. */
export interface Software {
  models?: string[];
  tools?: string[];
  runtimes?: Record<string, string>;
}

/** The limits view (the `limits.*` tags). */
export interface Limits {
  maxConcurrent?: number;
  maxPayloadBytes?: number;
  maxRatePerSec?: number;
}

/** The typed views of a set's tags. */
export interface CapabilityViews {
  hardware: Hardware;
  software: Required<Software>;
  limits: Limits;
}

/** One finding of {@link CapabilitySet.validate}. */
export interface ValidationIssue {
  code: string;
  key: string;
  message: string;
}

/** Errors an operator must fix; warnings about hygiene or forward compatibility. */
export interface ValidationReport {
  valid: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

/** What changed between two sets (see {@link CapabilitySet.diff}). */
export interface CapabilityDiff {
  added: string[];
  removed: string[];
  metadataSet: Record<string, string>;
  metadataRemoved: string[];
}

type Obj = Record<string, unknown>;

function dropUndefined(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function hardwareJson(h: Hardware): Obj {
  return dropUndefined({
    cpu_cores: h.cpuCores,
    cpu_threads: h.cpuThreads,
    memory_gb: h.memoryGb,
    gpu: h.gpu && dropUndefined({ vendor: h.gpu.vendor, model: h.gpu.model, vram_gb: h.gpu.vramGb, count: h.gpu.count }),
  });
}

function hardwareFrom(o: Obj): Hardware {
  const g = o.gpu as Obj | undefined;
  return dropUndefined({
    cpuCores: o.cpu_cores,
    cpuThreads: o.cpu_threads,
    memoryGb: o.memory_gb,
    gpu: g && dropUndefined({ vendor: g.vendor, model: g.model, vramGb: g.vram_gb, count: g.count }),
  }) as Hardware;
}

function limitsJson(l: Limits): Obj {
  return dropUndefined({ max_concurrent: l.maxConcurrent, max_payload_bytes: l.maxPayloadBytes, max_rate_per_sec: l.maxRatePerSec });
}

/** A diff as the engine writes it. */
export function diffToJson(d: Partial<CapabilityDiff>): Obj {
  return {
    added: d.added ?? [],
    removed: d.removed ?? [],
    metadata_set: d.metadataSet ?? {},
    metadata_removed: d.metadataRemoved ?? [],
  };
}

function diffFrom(o: Obj): CapabilityDiff {
  return {
    added: o.added as string[],
    removed: o.removed as string[],
    metadataSet: o.metadata_set as Record<string, string>,
    metadataRemoved: o.metadata_removed as string[],
  };
}

/**
 * Tags (`'gpu'`, `'nrpc:echo'`, `'hardware.memory_gb=64'`) and metadata.
 * Immutable and always canonical: the constructor and every `with*` method
 * check the set in the engine (`capability:invalid_tag`,
 * `capability:invalid_set`) and keep tags sorted by key, then value.
 */
export class CapabilitySet {
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;

  constructor(tags: Iterable<string> = [], metadata: Record<string, string> = {}) {
    const canonical = CapabilitySet.canonical({ tags: [...tags], metadata });
    this.tags = canonical.tags;
    this.metadata = canonical.metadata;
  }

  private static canonical(raw: unknown): { tags: string[]; metadata: Record<string, string> } {
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    return JSON.parse(call(() => native.capabilityNormalize(text)));
  }

  /** Reads a set from its JSON (text or object; typed `hardware`/`software`/`limits` sections allowed). */
  static fromJSON(json: string | object): CapabilitySet {
    const c = CapabilitySet.canonical(json);
    return new CapabilitySet(c.tags, c.metadata);
  }

  /** The canonical JSON object (`JSON.stringify` uses it). */
  toJSON(): { tags: string[]; metadata: Record<string, string> } {
    return { tags: [...this.tags], metadata: { ...this.metadata } };
  }

  private with(extra: Obj): CapabilitySet {
    return CapabilitySet.fromJSON({ ...this.toJSON(), ...extra });
  }

  withTags(...tags: string[]): CapabilitySet {
    return this.with({ tags: [...this.tags, ...tags] });
  }

  withMetadata(key: string, value: string): CapabilitySet {
    return this.with({ metadata: { ...this.metadata, [key]: value } });
  }

  withHardware(hardware: Hardware): CapabilitySet {
    return this.with({ hardware: hardwareJson(hardware) });
  }

  withSoftware(software: Software): CapabilitySet {
    return this.with({ software: dropUndefined({ ...software }) });
  }

  withLimits(limits: Limits): CapabilitySet {
    return this.with({ limits: limitsJson(limits) });
  }

  has(tag: string): boolean {
    return this.tags.includes(tag);
  }

  equals(other: CapabilitySet): boolean {
    return JSON.stringify(this) === JSON.stringify(other);
  }

  /** The typed views read back from the tags. */
  views(): CapabilityViews {
    const v = JSON.parse(call(() => native.capabilityViews(JSON.stringify(this))));
    return {
      hardware: hardwareFrom(v.hardware),
      software: v.software,
      limits: dropUndefined({
        maxConcurrent: v.limits.max_concurrent,
        maxPayloadBytes: v.limits.max_payload_bytes,
        maxRatePerSec: v.limits.max_rate_per_sec,
      }) as Limits,
    };
  }

  /** Checks the set against the schema of its typed views and reserved tags. */
  validate(): ValidationReport {
    return JSON.parse(call(() => native.capabilityValidate(JSON.stringify(this))));
  }

  /** What changed from `prev` to this set: `prev.apply(diff)` equals this set. */
  diff(prev: CapabilitySet): CapabilityDiff {
    return diffFrom(JSON.parse(call(() => native.capabilityDiff(JSON.stringify(prev), JSON.stringify(this)))));
  }

  /**
   * This set with `diff` applied (`capability:invalid_diff` when it was
   * taken against another set). A string is a diff's JSON as the engine
   * writes it (`added`, `removed`, `metadata_set`, `metadata_removed`).
   */
  apply(diff: Partial<CapabilityDiff> | string): CapabilitySet {
    const text = typeof diff === 'string' ? diff : JSON.stringify(diffToJson(diff));
    return CapabilitySet.fromJSON(call(() => native.capabilityApply(JSON.stringify(this), text)));
  }

  toString(): string {
    return `CapabilitySet(${JSON.stringify(this)})`;
  }
}

/**
 * A question about a capability set, evaluated in the engine. Build with the
 * static methods and combine with `and`, `or` and `not`.
 */
export class Predicate {
  private constructor(private readonly node: Obj) {}

  /** The key is a tag (bare or with a value) or a metadata key. */
  static exists(key: string): Predicate {
    return new Predicate({ exists: key });
  }

  /** A value of the key is this text (or reads as this number). */
  static equals(key: string, value: string | number): Predicate {
    return new Predicate({ equals: { key, value } });
  }

  static atLeast(key: string, value: number): Predicate {
    return new Predicate({ numeric_at_least: { key, value } });
  }

  static atMost(key: string, value: number): Predicate {
    return new Predicate({ numeric_at_most: { key, value } });
  }

  /** A value is a version compatible with `version` (same major, not older). */
  static semverCompatible(key: string, version: string): Predicate {
    return new Predicate({ semver_compatible: { key, version } });
  }

  static oneOf(key: string, values: readonly string[]): Predicate {
    return new Predicate({ in: { key, values: [...values] } });
  }

  /** Every part holds (true when there are none). */
  static allOf(...parts: Predicate[]): Predicate {
    return new Predicate({ and: parts.map((p) => p.node) });
  }

  /** Some part holds (false when there are none). */
  static anyOf(...parts: Predicate[]): Predicate {
    return new Predicate({ or: parts.map((p) => p.node) });
  }

  static not(part: Predicate): Predicate {
    return new Predicate({ not: part.node });
  }

  and(other: Predicate): Predicate {
    const left = Object.keys(this.node).length === 1 && Array.isArray(this.node.and) ? (this.node.and as Obj[]) : [this.node];
    return new Predicate({ and: [...left, other.node] });
  }

  or(other: Predicate): Predicate {
    const left = Object.keys(this.node).length === 1 && Array.isArray(this.node.or) ? (this.node.or as Obj[]) : [this.node];
    return new Predicate({ or: [...left, other.node] });
  }

  not(): Predicate {
    return Predicate.not(this);
  }

  /** Reads a predicate (`capability:invalid_predicate` when it is not one); canonical form. */
  static fromJSON(json: string | object): Predicate {
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    return new Predicate(JSON.parse(call(() => native.predicateNormalize(text))));
  }

  toJSON(): Obj {
    return JSON.parse(JSON.stringify(this.node));
  }

  matches(caps: CapabilitySet): boolean {
    return call(() => native.predicateEvaluate(JSON.stringify(this.node), JSON.stringify(caps)));
  }

  toString(): string {
    return `Predicate(${JSON.stringify(this.node)})`;
  }
}

/**
 * A subnet: four levels (region, fleet, vehicle, subsystem), one byte each.
 * `value` is the 32-bit encoding (outermost level in the high byte);
 * {@link SubnetId.GLOBAL} (0) is the root above every subnet.
 */
export class SubnetId {
  static readonly GLOBAL = new SubnetId(0);

  /** `subnet:invalid_id` when `value` sets a level below an unset one. */
  constructor(readonly value: number) {
    call(() => native.subnetFormat(value));
  }

  /** Reads `'3.7'` or `'3.7.0.0'`. */
  static parse(text: string): SubnetId {
    return new SubnetId(call(() => native.subnetParse(text)));
  }

  static fromLevels(...levels: number[]): SubnetId {
    return new SubnetId(call(() => native.subnetFromLevels(levels)));
  }

  /** The set levels, outermost first. */
  get levels(): number[] {
    const out: number[] = [];
    for (const shift of [24, 16, 8, 0]) {
      const b = (this.value >>> shift) & 0xff;
      if (b === 0) break;
      out.push(b);
    }
    return out;
  }

  equals(other: SubnetId): boolean {
    return this.value === other.value;
  }

  toString(): string {
    return call(() => native.subnetFormat(this.value));
  }
}

/** Which subnets take part in a channel. */
export type Visibility = 'global' | 'subnet_local' | 'parent_visible';

/** Whether a peer in `peer` takes part in a channel of `visibility` published from `publisher`. */
export function visibilityAllows(visibility: Visibility, publisher: SubnetId, peer: SubnetId): boolean {
  return call(() => native.subnetVisible(visibility, publisher.value, peer.value));
}

/** Tags starting with `prefix` set one level: the rest of the tag is looked up in `values`. */
export interface SubnetRule {
  prefix: string;
  level: number;
  values: Record<string, number>;
}

/** Derives a node's subnet from its tags; every node applies the same policy to every peer. */
export class SubnetPolicy {
  constructor(readonly rules: SubnetRule[] = []) {}

  addRule(rule: SubnetRule): SubnetPolicy {
    return new SubnetPolicy([...this.rules, rule]);
  }

  /** Reads a policy (`subnet:invalid_policy` when the engine refuses it). */
  static fromJSON(json: string | object): SubnetPolicy {
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    call(() => native.subnetAssign(text, '{}'));
    return new SubnetPolicy(JSON.parse(text).rules);
  }

  toJSON(): { rules: SubnetRule[] } {
    return { rules: this.rules };
  }

  assign(caps: CapabilitySet): SubnetId {
    return new SubnetId(call(() => native.subnetAssign(JSON.stringify(this), JSON.stringify(caps))));
  }
}
