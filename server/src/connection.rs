//! Serving one accepted connection: its requests go to the router, and its responses say
//! `Connection: close` once a drain has begun.
//!
//! This is a hyper service of its own rather than an axum middleware: a `from_fn` layer boxes
//! and clones a service for every request, which cost about a sixth of the server's own
//! instructions per `/healthz` request; here the common case is one load of the flag.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};

use crate::keep_alive::ShuttingDown;

/// The hyper service of one connection.
#[derive(Clone, Debug)]
pub struct Service {
    router: TowerToHyperService<Router>,
    shutting_down: ShuttingDown,
}

impl Service {
    /// Serves `router`, closing the connection after each response once `shutting_down` is set.
    pub fn new(router: Router, shutting_down: ShuttingDown) -> Self {
        Self {
            router: TowerToHyperService::new(router),
            shutting_down,
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> ResponseFuture {
        ResponseFuture {
            route: self.router.call(request),
            shutting_down: self.shutting_down.clone(),
        }
    }
}

/// The router's answer to one request, marked `Connection: close` if a drain has begun by the
/// time it is ready.
pub struct ResponseFuture {
    route: TowerToHyperServiceFuture<Router, Request<Incoming>>,
    shutting_down: ShuttingDown,
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(Pin::new(&mut self.route).poll(cx))?;
        self.shutting_down.close_if_draining(&mut response);
        Poll::Ready(Ok(response))
    }
}
