//! The load generator's caller: gRPC spoken directly over HTTP/2 (the `h2` crate), as h2load
//! does. A tonic client costs about as much per call as a tonic server (it decodes every reply,
//! goes through tower buffers), so with one core each the generator, not the server, was the
//! limit. Here each request is encoded once, before the runs, and a reply is never decoded —
//! but unlike h2load every call is still checked exactly (trap 1 of the load-testing notes):
//! `grpc-status` 0 and exactly the DATA of one good reply, whose size a decoding client
//! measured beforehand.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use bytes::Bytes;
use h2::client::SendRequest;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, TE};
use http::{Method, Request, StatusCode, Uri};

/// The windows a tonic client (hyper) opens with: anything smaller would make large replies
/// wait for WINDOW_UPDATEs the tonic baseline never waited for.
const STREAM_WINDOW: u32 = 2 << 20;
const CONNECTION_WINDOW: u32 = 5 << 20;

/// The gRPC message prefix: a compression flag and a big-endian length.
const PREFIX: usize = 5;

// Names made once: looking a header up by `&str` parses the name every call.
static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// One request, ready to send, and the reply it must get.
#[derive(Clone, Debug)]
struct Variant {
    /// The whole request body: prefix and protobuf bytes.
    body: Bytes,
    /// The encoded size of one good reply (the protobuf bytes, without the prefix).
    reply_bytes: usize,
}

/// What a target sends: its method, and one request per variant, taken in turn by every
/// caller of a run together (so that calls in flight send different variants).
#[derive(Debug)]
pub struct Plan {
    uri: Uri,
    headers: HeaderMap,
    variants: Vec<Variant>,
    turn: AtomicUsize,
}

impl Plan {
    /// `path` is the method's (`/package.Service/Method`); each variant is an encoded request
    /// and the encoded size of its good reply.
    pub fn new(
        addr: SocketAddr,
        path: &str,
        variants: impl IntoIterator<Item = (Vec<u8>, usize)>,
    ) -> anyhow::Result<Plan> {
        let uri: Uri = format!("http://{addr}{path}")
            .parse()
            .with_context(|| format!("a URI for {path}"))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        let variants: Vec<Variant> = variants
            .into_iter()
            .map(|(message, reply_bytes)| {
                let len = u32::try_from(message.len()).context("a request over 4 GiB")?;
                let mut body = Vec::with_capacity(PREFIX + message.len());
                body.push(0);
                body.extend_from_slice(&len.to_be_bytes());
                body.extend_from_slice(&message);
                anyhow::Ok(Variant {
                    body: body.into(),
                    reply_bytes,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        anyhow::ensure!(!variants.is_empty(), "no request for {path}");
        Ok(Plan {
            uri,
            headers,
            variants,
            turn: AtomicUsize::new(0),
        })
    }

    fn next(&self) -> &Variant {
        let turn = if self.variants.len() == 1 {
            0
        } else {
            self.turn.fetch_add(1, Ordering::Relaxed) % self.variants.len()
        };
        &self.variants[turn]
    }
}

/// How a call went wrong.
#[derive(Debug)]
pub enum Failure {
    /// No OK status: an HTTP/2 error, an HTTP status other than 200, or `grpc-status` not 0.
    Status(String),
    /// An OK status with a reply that is not one good reply.
    Reply(String),
}

/// Opens one HTTP/2 connection to `addr`, driven by a task of its own on the current runtime;
/// it closes when the last clone of the returned handle is dropped.
pub async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(tcp)
        .await
        .with_context(|| format!("HTTP/2 handshake with {addr}"))?;
    // Its errors reach every call in flight, which count them as failures.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(send)
}

/// One call of `plan`'s next variant on `send`'s connection.
pub async fn call(send: &mut SendRequest<Bytes>, plan: &Plan) -> Result<(), Failure> {
    let status = |e: h2::Error| Failure::Status(format!("HTTP/2: {e}"));
    let variant = plan.next();
    let mut request = Request::new(());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = plan.uri.clone();
    *request.headers_mut() = plan.headers.clone();
    // Waits while the connection has as many streams open as the server allows.
    std::future::poll_fn(|cx| send.poll_ready(cx))
        .await
        .map_err(status)?;
    let (response, mut stream) = send.send_request(request, false).map_err(status)?;
    stream
        .send_data(variant.body.clone(), true)
        .map_err(status)?;
    let (head, mut body) = response.await.map_err(status)?.into_parts();
    if head.status != StatusCode::OK {
        return Err(Failure::Status(format!("HTTP status {}", head.status)));
    }
    // A trailers-only reply (how gRPC sends most errors) has its status in the headers.
    grpc_ok(Some(&head.headers), false)?;
    let mut prefix = [0u8; PREFIX];
    let mut received = 0usize;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(status)?;
        // The prefix may be split over DATA frames, however unlikely.
        for (i, &b) in chunk
            .iter()
            .take(PREFIX.saturating_sub(received))
            .enumerate()
        {
            prefix[received + i] = b;
        }
        received += chunk.len();
        body.flow_control()
            .release_capacity(chunk.len())
            .map_err(status)?;
    }
    let trailers = body.trailers().await.map_err(status)?;
    grpc_ok(trailers.as_ref().or(Some(&head.headers)), true)?;
    let expected = PREFIX + variant.reply_bytes;
    let length = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    if received != expected || prefix[0] != 0 || length != variant.reply_bytes {
        return Err(Failure::Reply(format!(
            "{received} bytes of DATA (compression flag {}, message length {length}) where one good reply is {expected}",
            prefix[0]
        )));
    }
    Ok(())
}

/// Checks `grpc-status` in `headers`: an error when present and not 0, and, when `required`,
/// when absent.
fn grpc_ok(headers: Option<&HeaderMap>, required: bool) -> Result<(), Failure> {
    match headers.and_then(|h| h.get(&GRPC_STATUS)) {
        Some(code) if code.as_bytes() == b"0" => Ok(()),
        Some(code) => {
            let message = headers
                .and_then(|h| h.get(&GRPC_MESSAGE))
                .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                .unwrap_or_default();
            Err(Failure::Status(format!(
                "grpc-status {}: {message}",
                String::from_utf8_lossy(code.as_bytes())
            )))
        }
        None if required => Err(Failure::Status("no grpc-status in the trailers".into())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use http::Response;

    use super::*;

    /// A reply body: the prefix of a `len`-byte message, and the message.
    fn reply(len: usize) -> Bytes {
        let mut body = vec![0, 0, 0, 0, len as u8];
        body.resize(PREFIX + len, 7);
        body.into()
    }

    /// An HTTP/2 server whose every reply is chosen by the request's path, to show what the
    /// caller makes of each.
    async fn serve() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut connection = h2::server::handshake(tcp).await.unwrap();
            while let Some(stream) = connection.accept().await {
                let (request, mut respond) = stream.unwrap();
                let mut head = Response::builder()
                    .status(200)
                    .header("content-type", "application/grpc");
                let status = |code: &str| {
                    let mut t = HeaderMap::new();
                    t.insert("grpc-status", HeaderValue::from_str(code).unwrap());
                    t
                };
                let (data, trailers) = match request.uri().path() {
                    "/ok" => (Some(reply(3)), Some(status("0"))),
                    "/short" => (Some(reply(2)), Some(status("0"))),
                    "/twice" => (
                        Some([reply(3), reply(3)].concat().into()),
                        Some(status("0")),
                    ),
                    "/error-after-data" => (Some(reply(3)), Some(status("13"))),
                    "/no-trailers" => (Some(reply(3)), None),
                    "/http-500" => {
                        head = head.status(500);
                        (None, None)
                    }
                    _ => {
                        // Trailers-only, as gRPC sends most errors.
                        head = head.header("grpc-status", "12");
                        (None, None)
                    }
                };
                let end = data.is_none() && trailers.is_none();
                let mut send = respond.send_response(head.body(()).unwrap(), end).unwrap();
                if let Some(data) = data {
                    send.send_data(data, trailers.is_none()).unwrap();
                }
                if let Some(trailers) = trailers {
                    send.send_trailers(trailers).unwrap();
                }
            }
        });
        addr
    }

    #[test]
    fn only_a_zero_status_with_exactly_one_good_reply_is_a_success() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let addr = serve().await;
            let mut send = connect(addr).await.unwrap();
            let mut outcome = async |path: &str| {
                let plan = Plan::new(addr, path, [(vec![1, 2], 3)]).unwrap();
                match call(&mut send, &plan).await {
                    Ok(()) => "ok",
                    Err(Failure::Status(_)) => "status",
                    Err(Failure::Reply(_)) => "reply",
                }
            };
            assert_eq!(outcome("/ok").await, "ok");
            assert_eq!(outcome("/short").await, "reply");
            assert_eq!(outcome("/twice").await, "reply");
            assert_eq!(outcome("/error-after-data").await, "status");
            assert_eq!(outcome("/no-trailers").await, "status");
            assert_eq!(outcome("/http-500").await, "status");
            assert_eq!(outcome("/unimplemented").await, "status");
            assert_eq!(
                outcome("/ok").await,
                "ok",
                "the connection outlives failures"
            );
        });
    }
}
