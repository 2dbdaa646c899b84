//! When a run stops early, and what it says then.
//!
//! The URL verification (GET) and the first genuine callback (POST) decide
//! whether the rest of a run can tell anything: when the server cannot be
//! reached, never answers the first callback, or refuses either request
//! with a 4xx, every later check would fail the same way, and the forged
//! requests would "pass" on the same refusal. The run then stops there with
//! one diagnosis and a hint naming the settings to check (`--keep-going`
//! sends the rest anyway). A server that stops accepting connections later
//! in the run stops it too.

use std::time::Duration;

use crate::args::{Args, DEMO_CORP_ID, DEMO_KEY, DEMO_TOKEN, Kind};
use crate::check::Verdict;
use crate::transport::{Attempt, Outcome, seconds};

/// The part a check plays in deciding whether to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The GET URL verification.
    Verification,
    /// The first genuine callback (POST).
    FirstCallback,
    /// Any other check.
    Other,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// No connection could be made.
    Unreachable,
    /// Connected, but no answer to the first callback on any try.
    NoAnswer,
    /// The server refused the request with this 4xx status.
    Refused(u16),
}

impl Reason {
    /// The JSON spelling: `unreachable`, `no_answer`, `refused`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::NoAnswer => "no_answer",
            Self::Refused(_) => "refused",
        }
    }

    /// The status of a refusal.
    pub(crate) fn status(self) -> Option<u16> {
        match self {
            Self::Refused(status) => Some(status),
            Self::Unreachable | Self::NoAnswer => None,
        }
    }
}

/// A stop: why, what it means, and what to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stop {
    pub(crate) reason: Reason,
    /// One sentence: what the server did.
    pub(crate) diagnosis: String,
    /// What to check next.
    pub(crate) hint: String,
}

/// What the hints need to know about the run's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `127.0.0.1:3000`.
    pub(crate) authority: String,
    /// The `--kind` value, e.g. `wecom_app`.
    pub(crate) kind: String,
    /// The flags left at the vendor demo's values (`--token`, …).
    pub(crate) demo_defaults: Vec<&'static str>,
    pub(crate) timeout: Duration,
}

impl Settings {
    pub(crate) fn of(args: &Args) -> Self {
        let mut demo_defaults = Vec::new();
        if args.token == DEMO_TOKEN {
            demo_defaults.push("--token");
        }
        if args.encoding_aes_key == DEMO_KEY && args.kind != Kind::OfficialAccountPlain {
            demo_defaults.push("--encoding-aes-key");
        }
        if args.receive_id == DEMO_CORP_ID && args.kind != Kind::WecomBot {
            demo_defaults.push("--receive-id");
        }
        Self {
            authority: args.url.authority.to_string(),
            kind: args.kind.callback_kind().name().to_owned(),
            demo_defaults,
            timeout: args.timeout,
        }
    }
}

/// Whether the attempts of a check in `role` (named `name`, e.g. `text
/// "hi"`) end the run, and why.
pub(crate) fn after(
    role: Role,
    name: &str,
    attempts: &[Attempt],
    settings: &Settings,
) -> Option<Stop> {
    let last = attempts.last()?;
    let tries = match attempts.len() {
        1 => "1 try".to_owned(),
        n => format!("{n} tries"),
    };
    let what = match role {
        Role::Verification => "the URL verification (GET)".to_owned(),
        Role::FirstCallback => format!("the first callback ({name})"),
        Role::Other => format!("the check {name}"),
    };
    let at = &settings.authority;

    if attempts
        .iter()
        .all(|a| matches!(a.outcome, Outcome::Unreachable(_)))
    {
        let error = last.describe(settings.timeout);
        return Some(if role == Role::Other {
            Stop {
                reason: Reason::Unreachable,
                diagnosis: format!(
                    "the server at {at} stopped accepting connections at {what} ({error}, {tries})"
                ),
                hint: "did it exit or crash? Look at its log, restart it, and run again".to_owned(),
            }
        } else {
            Stop {
                reason: Reason::Unreachable,
                diagnosis: format!("the server at {at} is unreachable ({error}, {tries})"),
                hint: format!(
                    "nothing accepts connections at {at}: start the server (e.g. `cargo run \
                     --example echo`), or check the URL's host and port"
                ),
            }
        });
    }
    if role == Role::Other {
        return None;
    }
    match &last.outcome {
        Outcome::Answered(answer) if answer.status.is_client_error() => {
            let status = answer.status.as_u16();
            let (diagnosis, hint) = match status {
                403 => (
                    format!(
                        "the server refused {what} as not authentic (HTTP 403: signature, \
                         timestamp, decryption or receive id)"
                    ),
                    settings_hint(settings),
                ),
                400 => (
                    format!(
                        "the server could not read {what} (HTTP 400: its parameters or body \
                         are not in the format it expects)"
                    ),
                    settings_hint(settings),
                ),
                404 => (
                    format!("nothing answers {what} at this path (HTTP 404)"),
                    "check the URL's path: it must be the path the callback layer serves \
                     (the echo example: /wecom/callback)"
                        .to_owned(),
                ),
                405 => (
                    format!("the server does not take {what} at this path (HTTP 405)"),
                    "check the URL's path: the callback path takes both GET (verification) \
                     and POST (callbacks)"
                        .to_owned(),
                ),
                _ => (
                    format!("the server refused {what} (HTTP {status})"),
                    settings_hint(settings),
                ),
            };
            Some(Stop {
                reason: Reason::Refused(status),
                diagnosis,
                hint,
            })
        }
        Outcome::Answered(_) => None,
        // The GET alone does not decide a silent server: the first callback
        // gets its tries before the run gives up.
        _ if role == Role::Verification => None,
        _ if attempts
            .iter()
            .all(|a| !matches!(a.outcome, Outcome::Answered(_))) =>
        {
            Some(Stop {
                reason: Reason::NoAnswer,
                diagnosis: format!(
                    "the server at {at} accepts connections but never answered {what} ({}, {tries})",
                    last.describe(settings.timeout)
                ),
                hint: format!(
                    "WeCom waits 5 s for an answer (this run: {} per try): is the handler \
                     blocked (a lock, a slow call)? Acknowledge first and work afterwards \
                     (WeComCallbackLayer::ack_deadline); --timeout waits longer here",
                    seconds(settings.timeout)
                ),
            })
        }
        _ => None,
    }
}

/// A hint for a check in `role` that failed on an answer the run goes on
/// after (a 200 that is not what the kind answers): no stop, since later
/// checks can still pass, but the likely cause named once.
pub(crate) fn advice(
    role: Role,
    verdict: Verdict,
    attempts: &[Attempt],
    settings: &Settings,
) -> Option<String> {
    let answered_200 = attempts.last().is_some_and(|a| a.status() == Some(200));
    if verdict != Verdict::Fail || !answered_200 {
        return None;
    }
    let kind = &settings.kind;
    match role {
        Role::Verification => Some(format!(
            "the URL verification was answered (HTTP 200) but not with the echostr: a WeCom \
             server returns it decrypted, a WeChat one as is; check --kind ({kind}) and \
             --encoding-aes-key against the server's settings"
        )),
        Role::FirstCallback => Some(format!(
            "the first callback was answered (HTTP 200) but not as a {kind} server answers: \
             check --kind against the server's kind, and --token, --encoding-aes-key and \
             --receive-id (a reply is sealed with them) against its settings"
        )),
        Role::Other => None,
    }
}

/// The settings the server checks a request against, by flag.
fn settings_hint(settings: &Settings) -> String {
    let defaults = match settings.demo_defaults.as_slice() {
        [] => String::new(),
        [one] => format!(" ({one} is still the vendor demo's value)"),
        many => format!(" ({} are still the vendor demo's values)", list(many)),
    };
    format!(
        "the simulator signs and encrypts with --token, --encoding-aes-key and --receive-id{defaults}, \
         and builds {kind} requests (--kind {kind}): each must match the server's own settings \
         (the echo example reads WECOM_TOKEN, WECOM_ENCODING_AES_KEY, WECOM_RECEIVE_ID and WECOM_KIND)",
        kind = settings.kind
    )
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Answer;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};

    fn settings() -> Settings {
        Settings {
            authority: "127.0.0.1:9".to_owned(),
            kind: "wecom_app".to_owned(),
            demo_defaults: vec!["--encoding-aes-key", "--receive-id"],
            timeout: Duration::from_millis(500),
        }
    }

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            outcome,
            elapsed: Duration::from_millis(1),
        }
    }

    fn answered(status: u16) -> Attempt {
        attempt(Outcome::Answered(Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }))
    }

    fn refused_connection() -> Attempt {
        attempt(Outcome::Unreachable(
            "cannot connect: Connection refused (os error 111)".to_owned(),
        ))
    }

    #[test]
    fn an_unreachable_server_stops_the_run_at_any_check() {
        for role in [Role::Verification, Role::FirstCallback, Role::Other] {
            let stop = after(role, "x", &[refused_connection()], &settings()).unwrap();
            assert_eq!(stop.reason, Reason::Unreachable);
            assert!(stop.diagnosis.contains("127.0.0.1:9"), "{}", stop.diagnosis);
            assert!(
                stop.diagnosis.contains("os error 111"),
                "{}",
                stop.diagnosis
            );
        }
        // One try reached the server: not unreachable.
        let mixed = [refused_connection(), answered(500)];
        assert_eq!(after(Role::Other, "x", &mixed, &settings()), None);
    }

    #[test]
    fn a_refusal_of_the_get_or_the_first_callback_names_the_settings() {
        for status in [400, 403] {
            for role in [Role::Verification, Role::FirstCallback] {
                let stop = after(role, "text", &[answered(status)], &settings()).unwrap();
                assert_eq!(stop.reason, Reason::Refused(status));
                assert!(stop.diagnosis.contains(&format!("HTTP {status}")));
                for flag in ["--token", "--encoding-aes-key", "--receive-id", "--kind"] {
                    assert!(stop.hint.contains(flag), "{flag}: {}", stop.hint);
                }
                assert!(
                    stop.hint
                        .contains("(--encoding-aes-key and --receive-id are still the vendor")
                );
            }
        }
        let stop = after(Role::Verification, "", &[answered(404)], &settings()).unwrap();
        assert!(stop.hint.contains("path"), "{}", stop.hint);
        // Later refusals are the check's own business.
        assert_eq!(after(Role::Other, "x", &[answered(403)], &settings()), None);
        // Answers that are not refusals do not stop the run.
        for status in [200, 500] {
            assert_eq!(
                after(Role::FirstCallback, "x", &[answered(status)], &settings()),
                None
            );
        }
    }

    #[test]
    fn silence_stops_the_run_at_the_first_callback_only() {
        let silent = [attempt(Outcome::TimedOut), attempt(Outcome::TimedOut)];
        assert_eq!(
            after(Role::Verification, "", &silent[..1], &settings()),
            None
        );
        assert_eq!(after(Role::Other, "x", &silent, &settings()), None);
        let stop = after(Role::FirstCallback, "text", &silent, &settings()).unwrap();
        assert_eq!(stop.reason, Reason::NoAnswer);
        assert!(
            stop.diagnosis.contains(
                "never answered the first callback (text) (no answer within 0.5 s, 2 tries)"
            ),
            "{}",
            stop.diagnosis
        );
        assert!(stop.hint.contains("--timeout"));
        // An answer on a retry is a success (a warning), not a stop.
        let late = [attempt(Outcome::TimedOut), answered(200)];
        assert_eq!(after(Role::FirstCallback, "x", &late, &settings()), None);
    }

    #[test]
    fn a_wrong_200_from_the_get_or_the_first_callback_gets_a_hint() {
        for role in [Role::Verification, Role::FirstCallback] {
            let hint = advice(role, Verdict::Fail, &[answered(200)], &settings()).unwrap();
            assert!(
                hint.contains("--kind (wecom_app)") || hint.contains("a wecom_app server"),
                "{hint}"
            );
            assert!(hint.contains("--encoding-aes-key"), "{hint}");
            assert_eq!(
                advice(role, Verdict::Pass, &[answered(200)], &settings()),
                None
            );
            assert_eq!(
                advice(role, Verdict::Fail, &[answered(500)], &settings()),
                None
            );
        }
        assert_eq!(
            advice(Role::Other, Verdict::Fail, &[answered(200)], &settings()),
            None
        );
    }

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b"]), "a and b");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
    }
}
