//! When a failed request is sent again: which failures each kind of request
//! may retry, how long to wait (`Retry-After`, honoured up to a cap, which no
//! crate reads for us from both its forms; else exponential backoff with
//! jitter), and how many times.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::failure::{FailureKind, NetworkError};
use super::http::Response;

/// Retries after the first attempt for retryable failures.
pub const MAX_RETRIES: u32 = 3;
/// Longest wait honoured from a `Retry-After` header.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Which failures a request may be retried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryPolicy {
    /// Reads: retry 429, 502, 503, 504, refused and reset connections (not
    /// timeouts: a hung server costs the timeout once).
    Idempotent,
    /// The token request carries the secret and may be throttled: retry only
    /// when the server provably did not process it (connection refused, 429, 503).
    Unprocessed,
}

pub(super) fn wait_for_status(
    policy: RetryPolicy,
    response: &Response,
    attempt: u32,
) -> Option<Duration> {
    let retryable = match policy {
        RetryPolicy::Idempotent => matches!(response.status.as_u16(), 429 | 502 | 503 | 504),
        RetryPolicy::Unprocessed => matches!(response.status.as_u16(), 429 | 503),
    };
    if !retryable {
        return None;
    }
    Some(retry_after(&response.headers).unwrap_or_else(|| backoff(attempt)))
}

pub(super) fn wait_for_error(
    policy: RetryPolicy,
    err: &NetworkError,
    attempt: u32,
) -> Option<Duration> {
    // Timeouts are not retried: a hung server costs the timeout once, not once
    // per attempt.
    let retryable = match policy {
        RetryPolicy::Idempotent => matches!(err.kind, FailureKind::Refused | FailureKind::Reset),
        // A reset may come after the server acted on the request.
        RetryPolicy::Unprocessed => err.kind == FailureKind::Refused,
    };
    retryable.then(|| backoff(attempt))
}

/// `Retry-After` as seconds or an HTTP date, capped.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// 250 ms, 500 ms, 1 s, ... plus up to 50% jitter (so that many runs
/// refused at once do not all come back at once).
fn backoff(attempt: u32) -> Duration {
    let base = backoff_base(attempt);
    base + base.mul_f64(fastrand::f64() * 0.5)
}

fn backoff_base(attempt: u32) -> Duration {
    Duration::from_millis(250) * 2u32.saturating_pow(attempt.min(6))
}

/// The most that backoff (without `Retry-After`) can add to one request over
/// all its retries.
pub fn max_total_backoff() -> Duration {
    (0..MAX_RETRIES)
        .map(|attempt| backoff_base(attempt).mul_f64(1.5))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(5));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&future).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait <= Duration::from_secs(5) && wait >= Duration::from_secs(3),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(
            backoff(0) >= Duration::from_millis(250) && backoff(0) < Duration::from_millis(376)
        );
        assert!(backoff(2) >= Duration::from_secs(1));
        assert!(backoff(100) <= Duration::from_secs(24));
        let total: Duration = (0..MAX_RETRIES).map(backoff).sum();
        assert!(total <= max_total_backoff() && max_total_backoff() < Duration::from_secs(5));
    }
}
