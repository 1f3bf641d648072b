/**
 * Small guards for validating decoded messages at an actor's boundary. A protocol's `validate`
 * turns `unknown` into its message union or a `ProtocolError`; it never throws on bad input.
 */
export interface ProtocolError {
  readonly protocolError: string;
}

export function protocolError(message: string): ProtocolError {
  return { protocolError: message };
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return isRecord(value) && typeof value['protocolError'] === 'string';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export type FieldKind = 'string' | 'number' | 'boolean' | 'bytes' | 'array' | 'record' | 'any';

/** Which fields a message type must carry, and of what kind; `?` after a name makes it optional. */
export type MessageShape = Readonly<Record<string, FieldKind>>;

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'bytes':
      return value instanceof Uint8Array;
    case 'array':
      return Array.isArray(value);
    case 'record':
      return isRecord(value);
    case 'any':
      return value !== undefined;
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown field kind ${String(unreachable)}`);
    }
  }
}

interface CompiledField {
  readonly name: string;
  readonly kind: FieldKind;
  readonly optional: boolean;
}

/**
 * Builds a validator for a discriminated union from a table of shapes, one per `type`.
 * The caller names the union it expects; the table keeps the check next to the protocol.
 * Shapes are compiled once: this runs for every message an actor receives.
 */
export function shapeValidator<M extends { type: string }>(
  protocol: string,
  shapes: Readonly<Record<M['type'], MessageShape>>,
): (raw: unknown) => M | ProtocolError {
  const compiled = new Map<string, readonly CompiledField[]>();
  for (const [type, shape] of Object.entries(shapes as Readonly<Record<string, MessageShape>>)) {
    compiled.set(
      type,
      Object.entries(shape).map(([rawName, kind]) => {
        const optional = rawName.endsWith('?');
        return { name: optional ? rawName.slice(0, -1) : rawName, kind, optional };
      }),
    );
  }
  return (raw: unknown) => {
    if (!isRecord(raw)) return protocolError(`${protocol}: message is not an object`);
    const type = raw['type'];
    if (typeof type !== 'string') return protocolError(`${protocol}: message has no string "type"`);
    const fields = compiled.get(type);
    if (!fields) return protocolError(`${protocol}: unknown message type ${JSON.stringify(type)}`);
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const value = raw[field.name];
      if (value === undefined || value === null) {
        if (field.optional) continue;
        return protocolError(`${protocol}: ${type}.${field.name} is required`);
      }
      if (!hasKind(value, field.kind)) return protocolError(`${protocol}: ${type}.${field.name} must be ${field.kind}`);
    }
    return raw as M;
  };
}
