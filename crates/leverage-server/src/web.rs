//! Browsers: gRPC-Web translation (tonic-web) with CORS, and the analyst's page (`web/`)
//! served at `GET /` from files embedded in the binary.
//!
//! One outer layer does all three, so that the layers inside it (access log, load shedding,
//! access control) see plain gRPC calls whatever the client spoke, and so that the page is not
//! mistaken for an RPC. When web serving is off, the layer passes every request through
//! untouched.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tonic::body::Body;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::Layer;
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};

/// One embedded file of the page.
#[derive(Debug)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// The page, its style and its script: `web/dist/app.js` is the page's code bundled with the
/// client generated from `proto/` (`npm run build` in `web/`; committed, so that building the
/// server needs no Node).
pub const ASSETS: [Asset; 3] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../web/index.html"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../web/style.css"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../web/dist/app.js"),
    },
];

/// Request headers a gRPC-Web client sends; the W3C trace context among them, so that a page
/// can make the server's span a child of its own (`traces`).
pub const ALLOWED_HEADERS: [&str; 7] = [
    "x-grpc-web",
    "content-type",
    "x-user-agent",
    "grpc-timeout",
    "authorization",
    "traceparent",
    "tracestate",
];

/// Response headers (trailers, in gRPC-Web, arrive in the body) a browser script may read.
pub const EXPOSED_HEADERS: [&str; 3] = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// CORS for gRPC-Web: any origin (no cookies are used: a token, when needed, is sent by the
/// script in `authorization`, so no ambient credential is exposed), POST only, and the
/// gRPC-Web headers.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::POST])
        .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
        .max_age(Duration::from_secs(24 * 60 * 60))
}

/// Serves browsers when `enabled`; otherwise a pass-through.
#[derive(Clone, Copy, Debug)]
pub struct WebLayer {
    pub enabled: bool,
}

impl<S> Layer<S> for WebLayer {
    type Service = Web<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Web {
            inner: if self.enabled {
                Inner::On(Box::new(cors().layer(GrpcWebLayer::new().layer(inner))))
            } else {
                Inner::Off(inner)
            },
        }
    }
}

#[derive(Clone, Debug)]
enum Inner<S> {
    Off(S),
    On(Box<Cors<GrpcWebService<S>>>),
}

/// See [`WebLayer`].
#[derive(Clone, Debug)]
pub struct Web<S> {
    inner: Inner<S>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// The embedded file for a `GET`/`HEAD` of `path`, if any.
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// Whether an `Accept-Encoding` header admits gzip (named, with a q-value that is not 0).
pub fn accepts_gzip(accept_encoding: Option<&HeaderValue>) -> bool {
    let Some(value) = accept_encoding.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        coding.eq_ignore_ascii_case("gzip") && !refused
    })
}

/// Each asset gzipped once, on first use: the bundle is 212 KB plain and about 64 KB gzipped,
/// which matters to an analyst on a slow link and costs nothing after the first request.
fn gzipped(asset: &Asset) -> Bytes {
    use std::io::Write as _;
    use std::sync::OnceLock;
    static GZIPPED: OnceLock<Vec<Bytes>> = OnceLock::new();
    let all = GZIPPED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(a.body.as_bytes())
                    .and_then(|()| gz.finish())
                    .map(Bytes::from)
                    .expect("gzip into memory cannot fail")
            })
            .collect()
    });
    let at = ASSETS
        .iter()
        .position(|a| a.path == asset.path)
        .expect("an embedded asset");
    all[at].clone()
}

fn page_response(method: &Method, asset: &Asset, gzip: bool) -> Response<Body> {
    let bytes = if gzip {
        gzipped(asset)
    } else {
        Bytes::from_static(asset.body.as_bytes())
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::new(Full::new(bytes))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

impl<S, ResBody> tower::Service<Request<Body>> for Web<S>
where
    S: tower::Service<Request<Body>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: tonic::codegen::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<tonic::codegen::StdError> + std::fmt::Display,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.inner {
            Inner::Off(s) => s.poll_ready(cx),
            Inner::On(s) => tower::Service::<Request<Body>>::poll_ready(s.as_mut(), cx),
        }
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match &mut self.inner {
            Inner::Off(s) => {
                let future = s.call(request);
                Box::pin(async move { Ok(future.await?.map(Body::new)) })
            }
            Inner::On(s) => {
                let method = request.method().clone();
                if method == Method::GET || method == Method::HEAD {
                    let response = match asset(request.uri().path()) {
                        Some(asset) => page_response(
                            &method,
                            asset,
                            accepts_gzip(request.headers().get(header::ACCEPT_ENCODING)),
                        ),
                        None => {
                            let mut r = Response::new(Body::empty());
                            *r.status_mut() = StatusCode::NOT_FOUND;
                            r
                        }
                    };
                    return Box::pin(async move { Ok(response) });
                }
                let future = s.call(request);
                Box::pin(async move { Ok(future.await?.map(Body::new)) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_embedded_and_found() {
        for a in &ASSETS {
            assert!(!a.body.is_empty(), "{} is empty", a.path);
            assert_eq!(asset(a.path).map(|f| f.path), Some(a.path));
        }
        assert_eq!(asset("/index.html").map(|f| f.path), Some("/"));
        assert!(asset("/nope").is_none());
        assert!(asset("/leverage.v1.ScoringService/ListPlugins").is_none());
    }

    #[test]
    fn gzip_is_served_only_when_accepted() {
        let accepts = |v: &'static str| accepts_gzip(Some(&HeaderValue::from_static(v)));
        assert!(accepts("gzip"));
        assert!(accepts("gzip, deflate, br, zstd"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("deflate, br"));
        assert!(!accepts("x-gzip2"));
        assert!(!accepts_gzip(None));
        for a in &ASSETS {
            let mut plain = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(&gzipped(a)[..]),
                &mut plain,
            )
            .expect("gunzip");
            assert_eq!(plain, a.body, "{} round-trips", a.path);
        }
    }

    #[test]
    fn the_page_loads_only_embedded_scripts() {
        let page = ASSETS[0].body;
        assert!(page.contains("src=\"/app.js\""));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }
}
