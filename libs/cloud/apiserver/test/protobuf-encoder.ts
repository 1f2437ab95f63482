// A hand-written protobuf writer for tests: builds request bodies field number by field number, as
// the generated.proto files number them, so the decoder is checked against bytes it did not produce.

function varint(value: bigint | number): Buffer {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0n);
  return Buffer.from(bytes);
}

export type ProtoField = Buffer;

/** A length-delimited field: a string, bytes, or an embedded message (its fields concatenated). */
export function bytesField(number: number, value: string | Buffer | ProtoField[]): ProtoField {
  const payload = typeof value === 'string' ? Buffer.from(value, 'utf8') : Array.isArray(value) ? Buffer.concat(value) : value;
  return Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);
}

export function varintField(number: number, value: bigint | number | boolean): ProtoField {
  return Buffer.concat([varint(number << 3), varint(typeof value === 'boolean' ? (value ? 1 : 0) : value)]);
}

/** The Kubernetes envelope: "k8s\0" + runtime.Unknown {typeMeta{apiVersion, kind}, raw}. */
export function kubernetesEnvelope(apiVersion: string, kind: string, raw: ProtoField[]): Buffer {
  const typeMeta = bytesField(1, [bytesField(1, apiVersion), bytesField(2, kind)]);
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), typeMeta, bytesField(2, raw)]);
}

/** metav1.ObjectMeta with a name and namespace. */
export function objectMeta(name: string, namespace?: string): ProtoField {
  return bytesField(1, [bytesField(1, name), ...(namespace === undefined ? [] : [bytesField(3, namespace)])]);
}
