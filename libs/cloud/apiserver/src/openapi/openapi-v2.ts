// A minimal OpenAPI v2 document. kubectl fetches v2 only as protobuf (gnostic's openapi_v2.Document)
// and uses it for client-side validation when it cannot tell that the server validates: with no
// definitions, every kind is "unknown to the schema" and passes, which is what kubectl does for
// kinds a cluster's v2 document lacks (a custom resource applied before its CRD is then reported as
// "ensure CRDs are installed first", as on a real cluster).

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return bytes;
}

/** A length-delimited protobuf field (wire type 2). */
function field(number: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varint((number << 3) | 2), ...varint(payload.length)]), payload]);
}

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
export const OPENAPI_V2_PROTOBUF_RESPONSE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Document{swagger: "2.0", info: {title, version}, paths: {}, definitions: {}} */
export function openApiV2Protobuf(serverVersion: string): Buffer {
  const info = Buffer.concat([field(1, Buffer.from('Kubernetes')), field(2, Buffer.from(serverVersion))]);
  return Buffer.concat([field(1, Buffer.from('2.0')), field(2, info), field(8, Buffer.alloc(0)), field(9, Buffer.alloc(0))]);
}

export function openApiV2Json(serverVersion: string): Record<string, unknown> {
  return { swagger: '2.0', info: { title: 'Kubernetes', version: serverVersion }, paths: {}, definitions: {} };
}
