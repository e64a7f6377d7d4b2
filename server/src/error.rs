//! [`ServeError`]: why a protocol request failed, and how each protocol says so.

use std::time::Duration;

/// Why a request to the server failed. Each variant maps to one HTTP status and one gRPC code
/// ([`http_status`](ServeError::http_status), [`grpc_code`](ServeError::grpc_code)); the message
/// is what the client sees in the protocol's error body.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No such model (or no such version of it).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or does not fit the model (shape, datatype, name, size).
    #[error("{0}")]
    InvalidArgument(String),
    /// The request is larger than the server accepts.
    #[error("{0}")]
    TooLarge(String),
    /// The server cannot take the request now (queue full, shutting down): retry, maybe
    /// elsewhere.
    #[error("{0}")]
    Unavailable(String),
    /// The request waited in the queue longer than its timeout.
    #[error("{0}")]
    TimedOut(String),
    /// The model failed to run the request.
    #[error("{0}")]
    Internal(String),
}

impl ServeError {
    /// An [`InvalidArgument`](ServeError::InvalidArgument) from a message.
    pub fn invalid(msg: impl Into<String>) -> Self {
        ServeError::InvalidArgument(msg.into())
    }

    /// The HTTP status the REST API answers with.
    ///
    /// A request that timed out in the queue gets 503, as in Triton (its queue policy answers
    /// "Request timeout expired" as UNAVAILABLE): the server was too busy, and a load balancer
    /// may retry elsewhere.
    pub fn http_status(&self) -> u16 {
        match self {
            ServeError::NotFound(_) => 404,
            ServeError::InvalidArgument(_) => 400,
            ServeError::TooLarge(_) => 413,
            ServeError::Unavailable(_) | ServeError::TimedOut(_) => 503,
            ServeError::Internal(_) => 500,
        }
    }

    /// The gRPC status code.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            ServeError::NotFound(_) => tonic::Code::NotFound,
            ServeError::InvalidArgument(_) => tonic::Code::InvalidArgument,
            ServeError::TooLarge(_) => tonic::Code::ResourceExhausted,
            ServeError::Unavailable(_) => tonic::Code::Unavailable,
            ServeError::TimedOut(_) => tonic::Code::DeadlineExceeded,
            ServeError::Internal(_) => tonic::Code::Internal,
        }
    }

    /// The reason label of `nv_inference_request_failure` (Triton's: REJECTED, CANCELED,
    /// BACKEND, OTHER).
    pub fn failure_reason(&self) -> &'static str {
        match self {
            ServeError::Unavailable(_) | ServeError::TimedOut(_) | ServeError::TooLarge(_) => "REJECTED",
            ServeError::Internal(_) => "BACKEND",
            ServeError::NotFound(_) | ServeError::InvalidArgument(_) => "OTHER",
        }
    }
}

impl From<accelrt::Error> for ServeError {
    fn from(e: accelrt::Error) -> Self {
        match e {
            accelrt::Error::InvalidInput(_) => ServeError::InvalidArgument(e.to_string()),
            accelrt::Error::QueueFull { capacity } => ServeError::Unavailable(format!(
                "queue full: {capacity} requests already waiting for this model; retry later"
            )),
            accelrt::Error::TimedOut(d) => ServeError::TimedOut(format!(
                "request timeout expired: not started within {}",
                fmt_duration(d)
            )),
            accelrt::Error::ShutDown => ServeError::Unavailable("the server is shutting down".into()),
            accelrt::Error::Cancelled => ServeError::Unavailable("request cancelled".into()),
            other => ServeError::Internal(other.to_string()),
        }
    }
}

impl From<ServeError> for tonic::Status {
    fn from(e: ServeError) -> Self {
        tonic::Status::new(e.grpc_code(), e.to_string())
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.as_millis() >= 1 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} µs", d.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_protocol_codes() {
        let full = ServeError::from(accelrt::Error::QueueFull { capacity: 4 });
        assert_eq!((full.http_status(), full.grpc_code()), (503, tonic::Code::Unavailable));
        let late = ServeError::from(accelrt::Error::TimedOut(Duration::from_millis(5)));
        assert_eq!(
            (late.http_status(), late.grpc_code()),
            (503, tonic::Code::DeadlineExceeded)
        );
        assert!(late.to_string().contains("5 ms"), "{late}");
        let bad = ServeError::from(accelrt::Error::invalid_input("f32 [1, 3]", "u8 [1, 3]"));
        assert_eq!(
            (bad.http_status(), bad.grpc_code()),
            (400, tonic::Code::InvalidArgument)
        );
    }
}
