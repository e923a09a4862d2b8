// A small gRPC-Web client for the leverage API: a protobuf encoder/decoder for just the
// messages the page uses (field numbers from proto/leverage/v1/*.proto), and unary and
// server-streaming calls over fetch. It runs unchanged in browsers and in Node 20 (the page's
// test uses it to call the API directly).
//
// Decoded messages use the proto field names (snake_case). Unset scalars decode to their
// proto3 default, unset messages to null, repeated fields to arrays.
//
// gRPC-Web framing: each frame is 1 flag byte, a 4-byte big-endian length, then the bytes;
// flag 0x00 carries a protobuf message, flag 0x80 the trailers as HTTP/1 header lines.

// ---------------------------------------------------------------- protobuf

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

class Writer {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }
  bytes(b) {
    this.chunks.push(b);
    this.length += b.length;
  }
  varint(value) {
    const out = [];
    if (value < 0) {
      // Negative int32/int64: ten bytes of two's complement.
      let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
      while (v >= 0x80n) {
        out.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      out.push(Number(v));
    } else {
      let v = Math.trunc(value);
      while (v >= 0x80) {
        out.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      out.push(v);
    }
    this.bytes(Uint8Array.from(out));
  }
  tag(field, wireType) {
    this.varint(field * 8 + wireType);
  }
  double(value) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.bytes(b);
  }
  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

class Reader {
  constructor(bytes) {
    this.buf = bytes;
    this.pos = 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  done() {
    return this.pos >= this.buf.length;
  }
  varint() {
    let result = 0;
    let big = null;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.buf.length) throw new Error("protobuf: truncated varint");
      const b = this.buf[this.pos++];
      if (shift < 49) {
        result += (b & 0x7f) * 2 ** shift;
      } else {
        big ??= BigInt(result);
        big += BigInt(b & 0x7f) << BigInt(shift);
      }
      if ((b & 0x80) === 0) break;
      if (shift > 63) throw new Error("protobuf: varint too long");
    }
    // Ten-byte varints are negative numbers in two's complement.
    return big === null ? result : Number(BigInt.asIntN(64, big));
  }
  double() {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  lengthDelimited() {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error("protobuf: truncated field");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(wireType) {
    switch (wireType) {
      case 0: this.varint(); break;
      case 1: this.pos += 8; break;
      case 2: this.lengthDelimited(); break;
      case 5: this.pos += 4; break;
      default: throw new Error(`protobuf: unsupported wire type ${wireType}`);
    }
  }
}

const VARINT = new Set(["int32", "int64", "bool", "enum"]);

function defaultOf(type, flags) {
  if (flags === "repeated") return [];
  if (typeof type === "object") return null;
  if (type === "string") return "";
  if (type === "bytes") return new Uint8Array(0);
  if (type === "bool") return false;
  return 0;
}

/** Encodes `value` (a plain object keyed by proto field names) with `schema`. */
export function encode(schema, value) {
  const w = new Writer();
  for (const [name, [field, type, flags]] of Object.entries(schema.fields)) {
    const v = value?.[name];
    if (v === undefined || v === null) continue;
    const values = flags === "repeated" ? v : [v];
    for (const item of values) {
      // proto3: an implicit-presence field at its default is not sent.
      if (flags !== "repeated" && flags !== "optional" && item === defaultOf(type, flags)) continue;
      if (typeof type === "object") {
        const nested = encode(type, item);
        w.tag(field, 2);
        w.varint(nested.length);
        w.bytes(nested);
      } else if (type === "string" || type === "bytes") {
        const b = type === "string" ? textEncoder.encode(item) : item;
        w.tag(field, 2);
        w.varint(b.length);
        w.bytes(b);
      } else if (type === "double") {
        w.tag(field, 1);
        w.double(item);
      } else if (VARINT.has(type)) {
        w.tag(field, 0);
        w.varint(type === "bool" ? (item ? 1 : 0) : item);
      } else {
        throw new Error(`protobuf: cannot encode ${type}`);
      }
    }
  }
  return w.finish();
}

/** Decodes `bytes` with `schema` into a plain object keyed by proto field names. */
export function decode(schema, bytes) {
  const out = {};
  const byNumber = new Map();
  for (const [name, spec] of Object.entries(schema.fields)) {
    out[name] = defaultOf(spec[1], spec[2]);
    byNumber.set(spec[0], [name, ...spec]);
  }
  const r = new Reader(bytes);
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    const spec = byNumber.get(field);
    if (!spec) {
      r.skip(wireType);
      continue;
    }
    const [name, , type, flags] = spec;
    const put = (v) => {
      if (flags === "repeated") out[name].push(v);
      else out[name] = v;
    };
    if (typeof type === "object") {
      put(decode(type, r.lengthDelimited()));
    } else if (type === "string") {
      put(textDecoder.decode(r.lengthDelimited()));
    } else if (type === "bytes") {
      put(r.lengthDelimited().slice());
    } else if (type === "double") {
      if (wireType === 2) {
        // Packed repeated doubles.
        const packed = new Reader(r.lengthDelimited());
        while (!packed.done()) put(packed.double());
      } else {
        put(r.double());
      }
    } else if (VARINT.has(type)) {
      const one = (from) => {
        const v = from.varint();
        return type === "bool" ? v !== 0 : v;
      };
      if (wireType === 2) {
        // Packed repeated varints.
        const packed = new Reader(r.lengthDelimited());
        while (!packed.done()) put(one(packed));
      } else {
        put(one(r));
      }
    } else {
      r.skip(wireType);
    }
  }
  return out;
}

// ---------------------------------------------------------------- messages
// Only the fields the page reads or sends; unknown fields are skipped when decoding.

const msg = (fields) => ({ fields });

export const DateMsg = msg({ year: [1, "int32"], month: [2, "int32"], day: [3, "int32"] });
export const Participation = msg({ jurisdiction: [1, "string"], fraction: [2, "double"] });
export const InputValue = msg({ name: [1, "string"], value: [2, "double"] });
export const ParameterValue = msg({ name: [1, "string"], value: [2, "double"] });
export const Scenario = msg({
  use_mode: [1, "enum"],
  participation: [2, Participation, "repeated"],
  interest_rate_pct: [3, "double", "optional"],
  sanctions_tightening: [4, "double", "optional"],
  safe_takeup: [5, "double", "optional"],
  defence_spending_gdp_pct: [6, "double", "optional"],
  ceasefire: [7, "bool"],
  guarantee_sharing: [8, "double", "optional"],
  horizon_years: [9, "int32", "optional"],
  as_of: [10, DateMsg],
  inputs: [11, InputValue, "repeated"],
});
export const PluginInput = msg({
  name: [1, "string"],
  unit: [2, "string"],
  description: [3, "string"],
  plugin_declared: [4, "bool"],
  min: [5, "double"],
  max: [6, "double"],
  required: [7, "bool"],
  default_value: [8, "double"],
});
export const PluginParameter = msg({
  name: [1, "string"],
  unit: [2, "string"],
  default_value: [3, "double"],
  min: [4, "double"],
  max: [5, "double"],
  description: [6, "string"],
});
export const PluginComponent = msg({
  name: [1, "string"],
  unit: [2, "string"],
  min: [3, "double"],
  max: [4, "double"],
  description: [5, "string"],
});
export const Plugin = msg({
  name: [1, "string"],
  id: [2, "string"],
  display_name: [3, "string"],
  version: [4, "string"],
  description: [5, "string"],
  inputs: [11, PluginInput, "repeated"],
  components: [12, PluginComponent, "repeated"],
  score_unit: [13, "string"],
  score_min: [14, "double"],
  score_max: [15, "double"],
  score_description: [16, "string"],
  parameters: [17, PluginParameter, "repeated"],
  state: [18, "enum"],
  state_reason: [19, "string"],
  model_card: [27, "string"],
});
export const GetPluginRequest = msg({ name: [1, "string"] });
export const ListPluginsRequest = msg({ page_size: [1, "int32"], page_token: [2, "string"] });
export const ListPluginsResponse = msg({
  plugins: [1, Plugin, "repeated"],
  next_page_token: [2, "string"],
  total_size: [3, "int32"],
});
export const NamedValue = msg({ name: [1, "string"], value: [2, "double"], unit: [3, "string"] });
export const ComponentScore = NamedValue;
export const FieldViolation = msg({ field: [1, "string"], description: [2, "string"] });
export const ScoreError = msg({
  code: [1, "int32"],
  reason: [2, "string"],
  message: [3, "string"],
  field_violations: [4, FieldViolation, "repeated"],
});
export const ScoreResult = msg({
  plugin: [1, "string"],
  plugin_version: [2, "string"],
  build_id: [3, "string"],
  dataset_version: [4, "string"],
  as_of: [5, DateMsg],
  score: [6, "double"],
  score_unit: [7, "string"],
  components: [8, ComponentScore, "repeated"],
  inputs: [9, NamedValue, "repeated"],
  parameters: [10, NamedValue, "repeated"],
  plugin_build: [11, "string"],
});
export const ScoreScenarioRequest = msg({
  plugin: [1, "string"],
  scenario: [2, Scenario],
  parameters: [3, ParameterValue, "repeated"],
});
export const ScoreScenarioResponse = msg({ result: [1, ScoreResult] });
export const ScenarioOutcome = msg({
  index: [1, "int32"],
  result: [2, ScoreResult],
  error: [3, ScoreError],
});
export const ComparisonRow = msg({
  plugin: [1, "string"],
  outcomes: [2, ScenarioOutcome, "repeated"],
});
export const CompareScenariosRequest = msg({
  plugins: [1, "string", "repeated"],
  scenarios: [2, Scenario, "repeated"],
});
export const CompareScenariosResponse = msg({ rows: [1, ComparisonRow, "repeated"] });
export const SweepAxis = msg({
  lever: [1, "enum"],
  start: [2, "double"],
  stop: [3, "double"],
  steps: [4, "int32"],
  input: [5, "string"],
});
export const SweepPoint = msg({
  index: [1, "int64"],
  lever_values: [2, "double", "repeated"],
  score: [3, "double"],
  components: [4, "double", "repeated"],
  error: [5, ScoreError],
});
export const SweepProgress = msg({ done: [1, "int64"], total: [2, "int64"] });
export const SweepScenarioRequest = msg({
  plugin: [1, "string"],
  base: [2, Scenario],
  axes: [3, SweepAxis, "repeated"],
  chunk_size: [4, "int32"],
  parameters: [9, ParameterValue, "repeated"],
});
export const SweepScenarioResponse = msg({
  points: [1, SweepPoint, "repeated"],
  component_names: [2, "string", "repeated"],
  progress: [3, SweepProgress],
  plugin_build: [4, "string"],
  parameters: [5, NamedValue, "repeated"],
});

// google.rpc error details, which the server sends in the `grpc-status-details-bin` trailer.
const Any = msg({ type_url: [1, "string"], value: [2, "bytes"] });
const RpcStatus = msg({ code: [1, "int32"], message: [2, "string"], details: [3, Any, "repeated"] });
const ErrorInfo = msg({ reason: [1, "string"], domain: [2, "string"] });
const BadRequest = msg({ field_violations: [1, FieldViolation, "repeated"] });

/** AssetAction values (legal.proto). */
export const AssetAction = {
  IMMOBILISATION: 1,
  WINDFALL_PROFITS: 2,
  PROFITS_BACKED_LOAN: 3,
  REPARATIONS_LOAN: 4,
  CONFISCATION: 5,
  PACKAGE_2026: 6,
};

/** Lever values (scoring.proto). */
export const Lever = {
  INTEREST_RATE_PCT: 1,
  SANCTIONS_TIGHTENING: 2,
  SAFE_TAKEUP: 3,
  DEFENCE_SPENDING_GDP_PCT: 4,
  GUARANTEE_SHARING: 5,
  HORIZON_YEARS: 6,
  PARTICIPATION: 7,
};

/** PluginState values (scoring.proto). */
export const PluginState = { READY: 1, DISABLED: 2, REFUSED: 3, RETAINED: 4 };

// ---------------------------------------------------------------- gRPC-Web

const CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
  "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
  "UNAUTHENTICATED",
];

/**
 * A call that ended with a non-OK gRPC status. `reason` is the google.rpc.ErrorInfo reason
 * (e.g. "INVALID_ARGUMENT"), `fieldViolations` the google.rpc.BadRequest's
 * `[{ field, description }]`, each field named by its path in the request
 * (e.g. "scenario.inputs[0].value"); both come from the `grpc-status-details-bin` trailer.
 */
export class GrpcError extends Error {
  constructor(code, message, { reason = "", fieldViolations = [] } = {}) {
    super(`${CODE_NAMES[code] ?? `code ${code}`}: ${message}`);
    this.name = "GrpcError";
    this.code = code;
    this.codeName = CODE_NAMES[code] ?? String(code);
    this.grpcMessage = message;
    this.reason = reason || this.codeName;
    this.fieldViolations = fieldViolations;
  }
}

/** The ErrorInfo reason and BadRequest violations of a `grpc-status-details-bin` value. */
export function decodeStatusDetails(base64) {
  const out = { reason: "", fieldViolations: [] };
  if (!base64) return out;
  let status;
  try {
    status = decode(RpcStatus, Uint8Array.from(atob(base64.trim()), (c) => c.charCodeAt(0)));
  } catch {
    return out; // Details that cannot be read leave the status code and message.
  }
  for (const any of status.details) {
    const type = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
    if (type === "google.rpc.ErrorInfo") out.reason = decode(ErrorInfo, any.value).reason;
    if (type === "google.rpc.BadRequest") {
      out.fieldViolations.push(...decode(BadRequest, any.value).field_violations);
    }
  }
  return out;
}

function decodeGrpcMessage(raw) {
  try {
    return decodeURIComponent(raw ?? "");
  } catch {
    return raw ?? "";
  }
}

function frame(bytes) {
  const out = new Uint8Array(5 + bytes.length);
  new DataView(out.buffer).setUint32(1, bytes.length, false);
  out.set(bytes, 5);
  return out;
}

function parseTrailers(bytes) {
  const trailers = {};
  for (const line of textDecoder.decode(bytes).split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return trailers;
}

function checkStatus(status, message, details) {
  if (status === undefined || status === null) return;
  const code = Number(status);
  if (code !== 0) {
    throw new GrpcError(code, decodeGrpcMessage(message), decodeStatusDetails(details));
  }
}

/**
 * A client for one server. `baseUrl` is e.g. "" (the page's own origin) or
 * "http://127.0.0.1:50051"; `token`, when set, is sent as a bearer token.
 */
export class Client {
  constructor(baseUrl = "", { token = "", timeoutMs = 60_000 } = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  /** Yields each response message of `method` ("package.Service/Method") as it arrives. */
  async *stream(method, requestSchema, request, responseSchema, { signal } = {}) {
    const headers = {
      "content-type": "application/grpc-web+proto",
      accept: "application/grpc-web+proto",
      "x-grpc-web": "1",
      "x-user-agent": "leverage-web/0.1",
      "grpc-timeout": `${this.timeoutMs}m`,
    };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(`${this.baseUrl}/${method}`, {
      method: "POST",
      headers,
      body: frame(encode(requestSchema, request)),
      signal,
    });
    if (!response.ok) {
      throw new GrpcError(14, `HTTP ${response.status} from ${method}`);
    }
    // A call that fails before any message has its status in the headers (trailers-only); its
    // empty body is read to the end, so that the browser does not count the call as aborted.
    if (response.headers.has("grpc-status")) {
      await response.arrayBuffer();
      checkStatus(response.headers.get("grpc-status"), response.headers.get("grpc-message"),
        response.headers.get("grpc-status-details-bin"));
      return;
    }

    const reader = response.body.getReader();
    let buffered = new Uint8Array(0);
    let trailers = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (value) {
        const joined = new Uint8Array(buffered.length + value.length);
        joined.set(buffered);
        joined.set(value, buffered.length);
        buffered = joined;
      }
      while (buffered.length >= 5) {
        const flag = buffered[0];
        const length = new DataView(buffered.buffer, buffered.byteOffset).getUint32(1, false);
        if (buffered.length < 5 + length) break;
        const payload = buffered.slice(5, 5 + length);
        buffered = buffered.slice(5 + length);
        if (flag & 0x80) {
          trailers = parseTrailers(payload);
        } else if (flag & 0x01) {
          throw new GrpcError(12, "compressed gRPC-Web frames are not supported");
        } else {
          yield decode(responseSchema, payload);
        }
      }
      if (done) break;
    }
    if (buffered.length) throw new GrpcError(13, `${method}: truncated gRPC-Web frame`);
    if (!trailers) throw new GrpcError(13, `${method}: the response ended without trailers`);
    checkStatus(trailers["grpc-status"] ?? 2, trailers["grpc-message"],
      trailers["grpc-status-details-bin"]);
  }

  /** One request, one response. */
  async unary(method, requestSchema, request, responseSchema) {
    const messages = [];
    for await (const m of this.stream(method, requestSchema, request, responseSchema)) {
      messages.push(m);
    }
    if (messages.length !== 1) {
      throw new GrpcError(13, `${method}: expected one message, got ${messages.length}`);
    }
    return messages[0];
  }

  /** Every plugin, across pages. */
  async listPlugins() {
    const plugins = [];
    let page_token = "";
    do {
      const page = await this.unary(
        "leverage.v1.ScoringService/ListPlugins",
        ListPluginsRequest, { page_size: 100, page_token }, ListPluginsResponse,
      );
      plugins.push(...page.plugins);
      page_token = page.next_page_token;
    } while (page_token);
    return plugins;
  }

  /** One plugin's schema: `name` is "plugins/{id}" (or "plugins/{id}@{build}"). */
  getPlugin(name) {
    return this.unary("leverage.v1.ScoringService/GetPlugin", GetPluginRequest, { name }, Plugin);
  }

  /** `parameters`: per-call values, `[{ name, value }]`; the others keep the server's. */
  scoreScenario(plugin, scenario, parameters = []) {
    return this.unary(
      "leverage.v1.ScoringService/ScoreScenario",
      ScoreScenarioRequest, { plugin, scenario, parameters }, ScoreScenarioResponse,
    );
  }

  compareScenarios(plugins, scenarios) {
    return this.unary(
      "leverage.v1.ScoringService/CompareScenarios",
      CompareScenariosRequest, { plugins, scenarios }, CompareScenariosResponse,
    );
  }

  /** Yields each chunk of a sweep as it arrives. */
  sweepScenario(request, options) {
    return this.stream(
      "leverage.v1.ScoringService/SweepScenario",
      SweepScenarioRequest, request, SweepScenarioResponse, options,
    );
  }
}
