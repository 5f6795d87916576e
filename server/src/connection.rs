//! The hyper service of one connection: its requests go to the router, or, for an h2c upgrade,
//! are answered `101 Switching Protocols` and the connection served on as HTTP/2 (the
//! protocol's details are in [`crate::h2c`]); its responses say `Connection: close` once a drain
//! has begun and count as being served until hyper has sent them (the connection's timer, in
//! [`crate::activity`], counts from their end).
//!
//! This is done once per connection, because that is cheap. An axum `from_fn` layer boxed and
//! cloned a service for every request, and hyper's `header_read_timeout` creates, registers and
//! removes a timer for every request head: together they cost about a fifth of the server's own
//! instructions per `/healthz` request. Here the common case is a load of the drain flag, a
//! clock read when a response ends, and no timer work at all.
//!
//! An h2c upgrade is served on here, beside the service, because the upgraded connection is
//! served by a service of its own.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response, Version};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};

use crate::activity::{Activity, Serving};
use crate::h2c;
use crate::hub::Hub;
use crate::io::ReadAhead;

/// The hyper service of one connection.
#[derive(Clone, Debug)]
pub struct Service {
    router: TowerToHyperService<Router>,
    activity: Activity,
    hub: Arc<Hub>,
}

impl Service {
    /// Serves `hub`'s router, telling `activity` when each request begins and ends.
    pub fn new(hub: &Arc<Hub>, activity: &Activity) -> Self {
        Self {
            router: TowerToHyperService::new(hub.router().clone()),
            activity: activity.clone(),
            hub: Arc::clone(hub),
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> ResponseFuture {
        let serving = Some(Serving::begin(&self.activity));
        let mut request = request;
        // hyper hands an HTTP/1.1 request with an `Upgrade` header the means to take the
        // connection over, in its extensions; other requests have none, so this costs a null
        // check (a header lookup cost 60 instructions per request).
        if request.version() == Version::HTTP_11
            && request.extensions().get::<OnUpgrade>().is_some()
        {
            if let Some(switching) = upgrade_to_h2c(&self.hub, self.activity.peer(), &mut request) {
                return ResponseFuture {
                    answer: Answer::Ready(Some(switching)),
                    serving,
                };
            }
        }
        ResponseFuture {
            answer: Answer::Route(self.router.call(request)),
            serving,
        }
    }
}

/// Answers an h2c upgrade request with `101 Switching Protocols` and serves the connection as
/// HTTP/2 once hyper hands it over; `None`, leaving the request as it was, when it is not one
/// the server upgrades (another protocol, a body, a drain under way, ...).
fn upgrade_to_h2c(
    hub: &Arc<Hub>,
    peer: SocketAddr,
    request: &mut Request<Incoming>,
) -> Option<Response<Body>> {
    // During a drain the connection is about to close: an upgrade would only prolong it.
    if hub.shutting_down().is_set() {
        return None;
    }
    let upgrade = h2c::Upgrade::read(request)?;
    let on_upgrade = hyper::upgrade::on(request);
    // Taken now, not in the task: the drain must count this connection, and send it its
    // GOAWAY, from the moment the old one is handed over.
    let open = hub.connections().open();
    let shutdown = hub.subscribe_shutdown();
    let hub = Arc::clone(hub);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut upgraded = TokioIo::new(upgraded);
        let timeouts = hub.timeouts();
        let first_frames =
            tokio::time::timeout(timeouts.first, upgrade.first_frames(&mut upgraded)).await;
        // A client that does not go on in HTTP/2, or not in time, only loses its connection.
        let Ok(Some(ahead)) = first_frames else {
            return;
        };
        let activity = Activity::new(hub.shutting_down().clone(), peer);
        activity.mark_h2();
        let service = Service::new(&hub, &activity);
        let io = TokioIo::new(ReadAhead::new(ahead, upgraded));
        let connection = pin!(hub.h2().serve_connection(io, service));
        activity
            .serve(
                connection,
                |connection| connection.graceful_shutdown(),
                timeouts,
                shutdown,
                hub.log(),
            )
            .await;
        drop(open);
    });
    Some(h2c::switching_protocols())
}

/// The router's answer to one request, marked `Connection: close` if a drain has begun by the
/// time it is ready.
pub struct ResponseFuture {
    answer: Answer,
    serving: Option<Serving>,
}

/// Where a response comes from.
enum Answer {
    /// The router.
    Route(TowerToHyperServiceFuture<Router, Request<Incoming>>),
    /// The connection itself: `101 Switching Protocols` to h2c.
    Ready(Option<Response<Body>>),
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = match &mut self.answer {
            Answer::Route(route) => ready!(Pin::new(route).poll(cx))?,
            Answer::Ready(response) => response
                .take()
                .expect("ResponseFuture polled after it completed"),
        };
        let serving = self
            .serving
            .take()
            .expect("ResponseFuture polled after it completed");
        serving.close_if_draining(&mut response);
        Poll::Ready(Ok(response.map(|inner| ResponseBody {
            inner,
            _serving: serving,
        })))
    }
}

/// A response body that keeps its request counted as being served until hyper has sent it all
/// (and drops it): the idle timeout counts from there.
pub struct ResponseBody {
    inner: Body,
    _serving: Serving,
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    // Delegated so hyper still sees the exact length and sends Content-Length, not chunks.
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
