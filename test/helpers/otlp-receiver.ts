import * as grpc from '@grpc/grpc-js';

/** One exported span as decoded from OTLP protobuf (only the fields tests look at). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** Resource attributes of the batch it came in (string values only). */
  resource: Record<string, string>;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:<port>, as OTEL_EXPORTER_OTLP_ENDPOINT */
  url: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

type Fields = Map<number, Array<Buffer | bigint>>;

/** Minimal protobuf wire decoder: field number → raw values (length-delimited as Buffer, scalars as bigint). */
function decode(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[pos++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const [field, wire] = [key >>> 3, key & 7];
    let value: Buffer | bigint;
    if (wire === 0) value = varint();
    else if (wire === 1) value = buf.readBigUInt64LE((pos += 8) - 8);
    else if (wire === 5) value = BigInt(buf.readUInt32LE((pos += 4) - 4));
    else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(pos, (pos += len));
    } else throw new Error(`unsupported wire type ${wire}`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

const bufs = (f: Fields, n: number): Buffer[] => (f.get(n) ?? []).filter((v): v is Buffer => Buffer.isBuffer(v));
const str = (f: Fields, n: number): string => bufs(f, n)[0]?.toString('utf8') ?? '';
const hex = (f: Fields, n: number): string => bufs(f, n)[0]?.toString('hex') ?? '';

// opentelemetry/proto/collector/trace/v1: ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span
function spansOf(request: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of bufs(decode(request), 1).map(decode)) {
    const resource: Record<string, string> = {};
    for (const kv of bufs(decode(bufs(rs, 1)[0] ?? Buffer.alloc(0)), 1).map(decode)) {
      resource[str(kv, 1)] = str(decode(bufs(kv, 2)[0] ?? Buffer.alloc(0)), 1);
    }
    for (const ss of bufs(rs, 2).map(decode)) {
      for (const span of bufs(ss, 2).map(decode)) {
        out.push({ traceId: hex(span, 1), spanId: hex(span, 2), parentSpanId: hex(span, 4), name: str(span, 5), resource });
      }
    }
  }
  return out;
}

const identity = (b: Buffer): Buffer => b;

/** A real gRPC server implementing OTLP TraceService/Export, for the exporter smoke test. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = new grpc.Server();
  const service: grpc.ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const exportSpans: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    spans.push(...spansOf(call.request));
    callback(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse: everything accepted
  };
  server.addService(service, { Export: exportSpans });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
