//! The web-identity exchange as `verify` makes it: a GitHub token and a role in, an STS session
//! or a typed failure out, with a bounded retry policy for the one thing worth waiting for (IAM
//! propagation after a fresh apply) and for transient trouble.
//!
//! Retry decisions are made on [`ExchangeErrorKind`], never on message text. A failure the
//! pre-flight evaluation already explains (it denies the token) is never retried: waiting cannot
//! change the answer. The deadline is honoured within one backoff step: no wait runs past it.
//! This module knows nothing about the terminal: each retry is reported to a callback.

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::io::aws::{self, AwsOptions, ExchangeError, ExchangeErrorKind, WebIdentitySession};
use crate::io::token::{self, Source, Token};

/// How long to keep retrying, and how to space the attempts (full jitter over an exponential
/// step, capped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// No attempt starts after this much time since the first; no wait runs past it.
    pub deadline: Duration,
    /// The first backoff step.
    pub base: Duration,
    /// The largest backoff step.
    pub cap: Duration,
}

impl RetryPolicy {
    /// `deadline` with the default spacing: 500 ms doubling to at most 10 s.
    pub fn with_deadline(deadline: Duration) -> RetryPolicy {
        RetryPolicy {
            deadline,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(10),
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` attempts took `elapsed`; `None`
    /// once the deadline has passed. `unit` is a random draw in `[0, 1)` (full jitter). The wait
    /// is cut to the time left, so the whole exchange ends within one step of the deadline.
    pub fn next_wait(&self, attempt: u32, elapsed: Duration, unit: f64) -> Option<Duration> {
        let left = self
            .deadline
            .checked_sub(elapsed)
            .filter(|d| !d.is_zero())?;
        let step = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap);
        Some(step.mul_f64(unit.clamp(0.0, 1.0)).min(left))
    }
}

/// Is a failure of this kind worth another attempt? Propagation-shaped denials are, but only
/// while the pre-flight evaluation admits the token; transient failures are too, on the same
/// condition (a token the account denies does not become admissible by waiting).
pub fn should_retry(kind: ExchangeErrorKind, preflight_admits: bool) -> bool {
    use ExchangeErrorKind as K;
    preflight_admits
        && matches!(
            kind,
            K::AccessDenied
                | K::NoProvider
                | K::IdpUnreachable
                | K::Throttled
                | K::Unavailable
                | K::Unreachable
        )
}

/// One retry about to happen, for a progress message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Attempts made so far.
    pub attempt: u32,
    /// Why the last one failed.
    pub kind: ExchangeErrorKind,
    /// The AWS error code of the last failure.
    pub code: String,
    /// How long until the next attempt.
    pub wait: Duration,
}

/// What to exchange.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// How to reach STS (no credentials are used: the call is unsigned).
    pub aws: &'a AwsOptions,
    /// The role to assume.
    pub role_arn: &'a str,
    /// The role session name.
    pub session_name: &'a str,
    /// Where the token came from, to fetch a fresh one when it is about to expire.
    pub source: &'a Source,
}

/// The result of an exchange.
#[derive(Debug)]
pub struct Exchanged {
    /// The session, or the last failure.
    pub result: std::result::Result<WebIdentitySession, ExchangeError>,
    /// Attempts made.
    pub attempts: u32,
}

/// Exchange `token` for a session, retrying per `policy` while [`should_retry`] says so. A token
/// that is about to expire is fetched again from its source between attempts (except from an
/// environment variable, which cannot change). `Err` only when that refetch fails.
pub async fn exchange(
    req: &Request<'_>,
    token: &mut Token,
    preflight_admits: bool,
    policy: &RetryPolicy,
    mut on_retry: impl FnMut(&Retry),
) -> Result<Exchanged> {
    let started = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let result =
            aws::assume_with_token(req.aws, req.role_arn, req.session_name, token.expose()).await;
        let failure = result.as_ref().err();
        let wait = failure
            .filter(|e| should_retry(e.kind, preflight_admits))
            .and_then(|_| policy.next_wait(attempts, started.elapsed(), fastrand::f64()));
        let (Some(e), Some(wait)) = (failure, wait) else {
            return Ok(Exchanged { result, attempts });
        };
        on_retry(&Retry {
            attempt: attempts,
            kind: e.kind,
            code: match &e.error {
                crate::error::Error::Aws { code, .. } => code.clone(),
                other => other.to_string(),
            },
            wait,
        });
        tokio::time::sleep(wait).await;
        if token.expires_in(token::now()).is_some_and(|s| s < 30)
            && !matches!(req.source, Source::Env(_))
        {
            *token = token::fetch(req.source).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyless_testkit::{Claims, Issuer, Kit};

    #[test]
    fn no_wait_after_the_deadline_and_none_past_it() {
        let p = RetryPolicy {
            deadline: Duration::from_secs(10),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(4),
        };
        assert_eq!(p.next_wait(1, Duration::from_secs(10), 0.5), None);
        assert_eq!(p.next_wait(1, Duration::from_secs(11), 0.5), None);
        // The largest draw is cut to what is left of the deadline.
        assert_eq!(
            p.next_wait(9, Duration::from_millis(9_900), 0.999),
            Some(Duration::from_millis(100))
        );
        // Steps double from the base and stop at the cap.
        assert_eq!(
            p.next_wait(1, Duration::ZERO, 1.0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.next_wait(2, Duration::ZERO, 1.0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.next_wait(30, Duration::ZERO, 1.0),
            Some(Duration::from_secs(4))
        );
        assert_eq!(p.next_wait(3, Duration::ZERO, 0.0), Some(Duration::ZERO));
    }

    #[test]
    fn a_denial_the_preflight_explains_is_never_retried() {
        for kind in [
            ExchangeErrorKind::AccessDenied,
            ExchangeErrorKind::NoProvider,
            ExchangeErrorKind::Throttled,
            ExchangeErrorKind::Unreachable,
        ] {
            assert!(!should_retry(kind, false), "{kind:?}");
            assert!(should_retry(kind, true), "{kind:?}");
        }
        for kind in [
            ExchangeErrorKind::ExpiredToken,
            ExchangeErrorKind::InvalidToken,
            ExchangeErrorKind::RejectedClaim,
            ExchangeErrorKind::Other,
        ] {
            assert!(!should_retry(kind, true), "{kind:?}");
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A token from the kit's issuer for a role that does not exist in the kit's account: STS
    /// answers with a denial every time.
    struct Fixture {
        kit: Kit,
        _issuer: Issuer,
        token: Token,
        opts: AwsOptions,
        source: Source,
    }

    impl Fixture {
        fn new() -> Fixture {
            let kit = Kit::start();
            let issuer = Issuer::start(
                "https://token.actions.githubusercontent.com",
                Claims::push("octo-org/site", "main"),
            );
            let token = Token::parse(&issuer.mint(&Claims::push("octo-org/site", "main"))).unwrap();
            let opts = AwsOptions {
                endpoint_url: Some(kit.endpoint()),
                region: Some("us-east-1".into()),
                ..AwsOptions::default()
            };
            Fixture {
                kit,
                _issuer: issuer,
                token,
                opts,
                source: Source::Env("UNUSED".into()),
            }
        }

        fn exchange(
            &mut self,
            preflight_admits: bool,
            policy: &RetryPolicy,
            on_retry: impl FnMut(&Retry),
        ) -> Exchanged {
            let req = Request {
                aws: &self.opts,
                role_arn: "arn:aws:iam::123456789012:role/missing",
                session_name: "keyless-test",
                source: &self.source,
            };
            runtime()
                .block_on(exchange(
                    &req,
                    &mut self.token,
                    preflight_admits,
                    policy,
                    on_retry,
                ))
                .unwrap()
        }
    }

    #[test]
    fn retries_stop_at_the_deadline_within_one_step() {
        let mut f = Fixture::new();
        let policy = RetryPolicy {
            deadline: Duration::from_millis(1_200),
            base: Duration::from_millis(100),
            cap: Duration::from_millis(300),
        };
        let mut retries = Vec::new();
        let started = Instant::now();
        let out = f.exchange(true, &policy, |r| retries.push(r.clone()));
        let took = started.elapsed();
        let err = out.result.unwrap_err();
        assert!(
            should_retry(err.kind, true),
            "the kit's denial is retryable: {:?}",
            err.kind
        );
        assert!(out.attempts >= 3, "retried: {} attempts", out.attempts);
        assert_eq!(retries.len() as u32, out.attempts - 1);
        assert_eq!(
            f.kit.count("AssumeRoleWithWebIdentity"),
            out.attempts as u64
        );
        assert!(retries.iter().all(|r| r.wait <= policy.cap));
        // The deadline plus at most one step plus the last call's round trip.
        assert!(
            took < policy.deadline + policy.cap + Duration::from_millis(700),
            "took {took:?}"
        );
    }

    #[test]
    fn a_preflight_denial_makes_one_attempt() {
        let mut f = Fixture::new();
        let mut retries = 0;
        let out = f.exchange(
            false,
            &RetryPolicy::with_deadline(Duration::from_secs(60)),
            |_| retries += 1,
        );
        assert!(out.result.is_err());
        assert_eq!((out.attempts, retries), (1, 0));
        assert_eq!(f.kit.count("AssumeRoleWithWebIdentity"), 1);
    }
}
