// Decoding `application/vnd.kubernetes.protobuf` request bodies into the JSON form of the object.
// The envelope is the 4-byte magic "k8s\0" and a runtime.Unknown {typeMeta, raw, contentEncoding,
// contentType}; raw is the object in the generated protobuf of its kind. Only kinds with a schema in
// message-schema.ts are understood; any other kind, or a field the schema lacks, is refused (415,
// ProtobufUnsupportedError), so nothing a client sent is ever silently dropped. Malformed bytes are a
// ProtobufDecodeError (400) naming the field path where reading failed.
import { APPS_KIND_SCHEMAS } from './workload-message-schema';
import { BATCH_KIND_SCHEMAS } from './batch-message-schema';
import { KIND_SCHEMAS, type FieldSchema, type MapValueType, type MessageSchema, type ScalarType } from './message-schema';
import { POLICY_KIND_SCHEMAS, kindSchemaAnyVersion } from './policy-message-schema';
import { ProtobufDecodeError, ProtobufUnsupportedError, readFields, varintToNumber, type WireField } from './wire-reader';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

function text(field: WireField): string {
  if (field.bytes === undefined) throw new ProtobufDecodeError(`field ${field.number} should be length-delimited`);
  return field.bytes.toString('utf8');
}

function number(field: WireField): bigint {
  if (field.varint === undefined) throw new ProtobufDecodeError(`field ${field.number} should be a varint`);
  return field.varint;
}

function scalarValue(field: WireField, type: ScalarType): unknown {
  switch (type) {
    case 'string':
      return text(field);
    case 'bytes':
      return (field.bytes ?? Buffer.alloc(0)).toString('base64');
    case 'bool':
      return number(field) !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, number(field)));
    case 'int64':
      return varintToNumber(number(field));
  }
}

/** RFC 3339, or undefined for the zero time Go writes for an unset metav1.Time. */
function timeValue(field: WireField): string | undefined {
  const parts = decodeMessage(field.bytes ?? Buffer.alloc(0), { 1: { name: 'seconds', type: { kind: 'scalar', type: 'int64' } }, 2: { name: 'nanos', type: { kind: 'scalar', type: 'int32' } } }, 'Time');
  const seconds = typeof parts['seconds'] === 'number' ? parts['seconds'] : 0;
  if (seconds === 0 && !parts['nanos']) return undefined;
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function quantityValue(bytes: Buffer): string {
  const parts = decodeMessage(bytes, { 1: { name: 'string', type: { kind: 'scalar', type: 'string' } } }, 'Quantity');
  return typeof parts['string'] === 'string' ? parts['string'] : '0';
}

function mapEntry(field: WireField, value: MapValueType): [string, unknown] {
  const entry = readFields(field.bytes ?? Buffer.alloc(0));
  let key = '';
  let result: unknown = value === 'quantity' ? '0' : value === 'time' ? undefined : '';
  for (const part of entry) {
    if (part.number === 1) key = text(part);
    else if (part.number === 2) {
      if (value === 'quantity') result = quantityValue(part.bytes ?? Buffer.alloc(0));
      else if (value === 'time') result = timeValue(part);
      else result = scalarValue(part, value);
    }
  }
  return [key, result];
}

function fieldValue(field: WireField, schema: FieldSchema): unknown {
  const type = schema.type;
  switch (type.kind) {
    case 'scalar':
      return scalarValue(field, type.type);
    case 'message':
    case 'embedded':
      return decodeMessage(field.bytes ?? Buffer.alloc(0), type.message(), schema.name);
    case 'time':
      return timeValue(field);
    case 'quantity':
      return quantityValue(field.bytes ?? Buffer.alloc(0));
    case 'intOrString': {
      const parts = decodeMessage(
        field.bytes ?? Buffer.alloc(0),
        { 1: { name: 'type', type: { kind: 'scalar', type: 'int64' } }, 2: { name: 'intVal', type: { kind: 'scalar', type: 'int32' } }, 3: { name: 'strVal', type: { kind: 'scalar', type: 'string' } } },
        'IntOrString',
      );
      return parts['type'] === 1 ? (parts['strVal'] ?? '') : (parts['intVal'] ?? 0);
    }
    case 'rawJson': {
      const raw = decodeMessage(field.bytes ?? Buffer.alloc(0), { 1: { name: 'Raw', type: { kind: 'scalar', type: 'bytes' } } }, 'FieldsV1');
      const json = Buffer.from(typeof raw['Raw'] === 'string' ? raw['Raw'] : '', 'base64').toString('utf8');
      try {
        return json === '' ? {} : (JSON.parse(json) as unknown);
      } catch {
        throw new ProtobufDecodeError('FieldsV1 does not hold JSON');
      }
    }
    case 'map':
      throw new ProtobufDecodeError('map fields are decoded by entry');
  }
}

export function decodeMessage(buffer: Buffer, schema: MessageSchema, typeName: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const field of readFields(buffer)) {
    const fieldSchema = schema[field.number];
    if (fieldSchema === undefined) {
      throw new ProtobufUnsupportedError(`field number ${field.number} of ${typeName} is not understood by this server; send the object as JSON`);
    }
    try {
      if (fieldSchema.type.kind === 'map') {
        const [key, value] = mapEntry(field, fieldSchema.type.value);
        const map = (result[fieldSchema.name] ??= {}) as Record<string, unknown>;
        map[key] = value;
        continue;
      }
      const value = fieldValue(field, fieldSchema);
      // Go writes unset non-pointer fields as zero values; JSON's omitempty would have left them out
      if (value === undefined || (!fieldSchema.repeated && !fieldSchema.pointer && (value === '' || value === 0 || value === false))) continue;
      if (fieldSchema.type.kind === 'embedded') Object.assign(result, value);
      else if (fieldSchema.repeated) ((result[fieldSchema.name] ??= []) as unknown[]).push(value);
      else result[fieldSchema.name] = value;
    } catch (error) {
      if (error instanceof ProtobufDecodeError) throw error.within(fieldSchema.name);
      throw error;
    }
  }
  return result;
}

/** The object in a Kubernetes protobuf envelope, as JSON; throws ProtobufDecodeError for anything it cannot read. */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new ProtobufDecodeError('the body does not start with the Kubernetes protobuf magic "k8s\\0"');
  }
  let envelope: WireField[];
  try {
    envelope = readFields(body.subarray(MAGIC.length));
  } catch (error) {
    if (error instanceof ProtobufDecodeError) throw error.within('runtime.Unknown');
    throw error;
  }
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  for (const field of envelope) {
    if (field.number === 1) {
      const typeMeta = decodeMessage(field.bytes ?? Buffer.alloc(0), { 1: { name: 'apiVersion', type: { kind: 'scalar', type: 'string' } }, 2: { name: 'kind', type: { kind: 'scalar', type: 'string' } } }, 'TypeMeta');
      apiVersion = typeof typeMeta['apiVersion'] === 'string' ? typeMeta['apiVersion'] : '';
      kind = typeof typeMeta['kind'] === 'string' ? typeMeta['kind'] : '';
    } else if (field.number === 2) {
      raw = field.bytes;
    } else if (field.number === 3 && text(field) !== '') {
      throw new ProtobufUnsupportedError(`content encoding ${text(field)} is not supported`);
    }
  }
  const schema =
    KIND_SCHEMAS[`${apiVersion}/${kind}`] ?? APPS_KIND_SCHEMAS[`${apiVersion}/${kind}`] ?? BATCH_KIND_SCHEMAS[`${apiVersion}/${kind}`] ?? POLICY_KIND_SCHEMAS[`${apiVersion}/${kind}`] ?? kindSchemaAnyVersion(kind);
  if (schema === undefined) throw new ProtobufUnsupportedError(`${kind} in version "${apiVersion}" is not understood as protobuf by this server; send it as JSON`);
  try {
    return { apiVersion, kind, ...decodeMessage(raw ?? Buffer.alloc(0), schema, kind) };
  } catch (error) {
    if (error instanceof ProtobufDecodeError) throw error.within(kind);
    throw error;
  }
}
