// The leverage API for browsers and Node: one Connect client per service over gRPC-Web, built on
// the code protoc-gen-es generates from proto/ (./gen, never edited by hand). This file only
// chooses the transport's options: the base URL, a bearer token, per-call compression.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import {
  universalClientResponseFromFetch,
  type Compression,
  type UniversalClientFn,
} from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-grpc-web";
import { decompress as zstdDecompress } from "fzstd";

import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import { AssetService } from "./gen/leverage/v1/assets_pb.js";
import { DatasetService } from "./gen/leverage/v1/dataset_pb.js";
import { DefenceFundingService } from "./gen/leverage/v1/funding_pb.js";
import { LegalRiskService } from "./gen/leverage/v1/legal_pb.js";
import { ScoringService } from "./gen/leverage/v1/scoring_pb.js";

export * from "./gen/leverage/v1/common_pb.js";
export * from "./gen/leverage/v1/assets_pb.js";
export * from "./gen/leverage/v1/dataset_pb.js";
export * from "./gen/leverage/v1/funding_pb.js";
export * from "./gen/leverage/v1/legal_pb.js";
export * from "./gen/leverage/v1/scoring_pb.js";
export { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";
export { Code, ConnectError } from "@connectrpc/connect";

/** How replies (and, for gzip, large requests) are compressed on the wire. */
export type CompressionChoice = "none" | "gzip" | "zstd";

export interface LeverageOptions {
  /** Sent as `authorization: Bearer …` when the server requires a token. */
  token?: string;
  /**
   * `gzip`: requests over 1 KiB are sent gzip-compressed and replies are accepted in gzip.
   * `zstd`: replies are accepted in zstd; requests go uncompressed (no zstd encoder ships in
   * browsers). `none` (the default) asks for nothing.
   */
  compression?: CompressionChoice;
  /** A `fetch` to use instead of the global one (tests, proxies). */
  fetch?: typeof globalThis.fetch;
  /** A deadline for every call that sets none of its own (`grpc-timeout`). */
  defaultTimeoutMs?: number;
  /** More interceptors, run after the one that adds the token. */
  interceptors?: Interceptor[];
}

/** One client per service of leverage.v1. */
export interface Leverage {
  assets: Client<typeof AssetService>;
  dataset: Client<typeof DatasetService>;
  funding: Client<typeof DefenceFundingService>;
  legal: Client<typeof LegalRiskService>;
  scoring: Client<typeof ScoringService>;
}

/** Streams one whole buffer through a browser-native (de)compressor. */
async function throughStream(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function tooLarge(size: number, readMaxBytes: number): never {
  throw new ConnectError(
    `message is larger than configured readMaxBytes ${readMaxBytes} after decompression`,
    Code.ResourceExhausted,
  );
}

/** gzip with the platform's CompressionStream (browsers, Node 18 and later). */
export const gzip: Compression = {
  name: "gzip",
  compress: (bytes) => throughStream(bytes, new CompressionStream("gzip")),
  decompress: async (bytes, readMaxBytes) => {
    const out = await throughStream(bytes, new DecompressionStream("gzip"));
    return out.byteLength > readMaxBytes ? tooLarge(out.byteLength, readMaxBytes) : out;
  },
};

/** zstd replies, decoded by fzstd; no platform has a zstd encoder, so this never compresses. */
export const zstd: Compression = {
  name: "zstd",
  compress: () => {
    throw new ConnectError("zstd is only accepted, never sent, by this client", Code.Internal);
  },
  decompress: async (bytes, readMaxBytes) => {
    const out = zstdDecompress(bytes);
    if (out.byteLength > readMaxBytes) tooLarge(out.byteLength, readMaxBytes);
    return new Uint8Array(out);
  },
};

/**
 * Connect's HTTP client over `fetch`, sending each request body whole: browsers stream a request
 * body only over HTTP/2 with `duplex: "half"`, and a gRPC-Web call sends one message anyway.
 */
function fetchWholeBodies(fetchFn: typeof globalThis.fetch): UniversalClientFn {
  return async (request) => {
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (request.body !== undefined) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of request.body) chunks.push(chunk);
      body = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
      let at = 0;
      for (const chunk of chunks) {
        body.set(chunk, at);
        at += chunk.byteLength;
      }
    }
    const response = await fetchFn(request.url, {
      method: request.method,
      headers: request.header,
      signal: request.signal,
      body,
    });
    return universalClientResponseFromFetch(response);
  };
}

/** The clients for a server at `baseUrl` (`""` for the page's own origin). */
export function createLeverage(baseUrl: string, options: LeverageOptions = {}): Leverage {
  const token = options.token?.trim();
  const withToken: Interceptor = (next) => (request) => {
    if (token) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  const choice = options.compression ?? "none";
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const transport = createTransport({
    httpClient: fetchWholeBodies(fetchFn),
    baseUrl: baseUrl || globalThis.location?.origin || "",
    useBinaryFormat: true,
    interceptors: [withToken, ...(options.interceptors ?? [])],
    acceptCompression: choice === "gzip" ? [gzip] : choice === "zstd" ? [zstd] : [],
    sendCompression: choice === "gzip" ? gzip : null,
    compressMinBytes: 1024,
    readMaxBytes: 0xffffffff,
    writeMaxBytes: 0xffffffff,
    defaultTimeoutMs: options.defaultTimeoutMs,
  });
  return {
    assets: createClient(AssetService, transport),
    dataset: createClient(DatasetService, transport),
    funding: createClient(DefenceFundingService, transport),
    legal: createClient(LegalRiskService, transport),
    scoring: createClient(ScoringService, transport),
  };
}

/** A field the server named in a refusal (google.rpc.BadRequest). */
export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * What a refused call says: its status code as gRPC names it (`INVALID_ARGUMENT`, as in the
 * docs, grpcurl and the other clients), message, reason and field violations.
 */
export interface Refusal {
  code: string;
  message: string;
  reason: string;
  violations: FieldViolation[];
}

/** The refusal carried by an error from any call, or null when it is not a server's answer. */
export function refusalOf(error: unknown): Refusal | null {
  if (!(error instanceof ConnectError)) return null;
  const info = error.findDetails(ErrorInfoSchema)[0];
  const violations = error
    .findDetails(BadRequestSchema)
    .flatMap((b) => b.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
  return {
    // Connect names codes in camelCase (InvalidArgument); gRPC's own names are UPPER_SNAKE.
    code: Code[error.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
    message: error.rawMessage,
    reason: info?.reason ?? "",
    violations,
  };
}
