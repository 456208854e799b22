//! `-v` tracing at the AWS boundary: one debug line per call attempt and
//! per finished call, naming the service, the operation, the attempt, the
//! HTTP status and the time taken. Only names and numbers are logged:
//! never a request, a response body or a header, which can hold
//! credentials and presigned URLs.

use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Logs every AWS call at debug level (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct CallTrace;

/// When the call started, kept in the call's own config bag.
#[derive(Debug, Clone)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

fn names(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>().map_or_else(
        || ("aws".to_string(), "call".to_string()),
        |m| (m.service().to_string(), m.name().to_string()),
    )
}

impl Intercept for CallTrace {
    fn name(&self) -> &'static str {
        "stampede::CallTrace"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = names(cfg);
        let attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        tracing::debug!(target: "stampede::aws", "{service}.{operation}: attempt {attempt}");
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = names(cfg);
        let ms = cfg
            .load::<Started>()
            .map_or(0, |s| s.0.elapsed().as_millis());
        let status = context.response().map_or_else(
            || "no response".to_string(),
            |r| format!("HTTP {}", r.status().as_u16()),
        );
        let outcome = match context.output_or_error() {
            Some(Ok(_)) => "ok",
            Some(Err(_)) => "failed",
            None => "ended",
        };
        tracing::debug!(target: "stampede::aws", "{service}.{operation}: {outcome}, {status}, {ms} ms");
        Ok(())
    }
}
