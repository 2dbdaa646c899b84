//! The `wecom-sim` binary (feature `cli`) when nothing works: against a
//! closed port, a server that refuses the signature or the format, a server
//! that never answers, and one whose replies do not open. Each test starts
//! its own loopback server (the crate's layer in axum, or a bare socket),
//! runs the built binary and reads its JSON document, table and stderr; the
//! servers count the requests they receive.
//!
//! Timing: the simulator gets short timeouts (`--timeout`), and every run is
//! bounded by a generous kill deadline, so a hang fails the test instead of
//! stalling CI; no test asserts a duration.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use serde_json::Value;
use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const PATH: &str = "/wecom/callback";

/// Kill a run that takes longer than this: far above any run here (the
/// slowest waits 9 s for a silent server), so a loaded machine does not
/// trip it, yet a hang cannot stall CI.
const DEADLINE: Duration = Duration::from_secs(120);

/// The flags a refusal's hint must name.
const FLAGS: [&str; 4] = ["--token", "--encoding-aes-key", "--receive-id", "--kind"];

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

fn sim(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wecom-sim"));
    command
        .args(args)
        .env_remove("COLUMNS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Waits for `child`, killing it after [`DEADLINE`].
fn wait(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wecom-sim still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = sim(args, env);
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let status = wait(&mut child);
    Run {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn url(address: SocketAddr) -> String {
    format!("http://{address}{PATH}")
}

/// The crate's layer for a WeCom app with `token`, replying to texts, in
/// axum on a loopback port; counts every request it receives.
fn layer_server(token: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let endpoint = Endpoint::wecom_app(token, KEY, CORP).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    let app =
        Router::new()
            .route(
                PATH,
                post(|message: Message| async move {
                    Reply::text(format!("echo:{}", message.msg_type()))
                }),
            )
            .layer(WeComCallbackLayer::new(PATH, endpoint).unwrap())
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                let counted = Arc::clone(&counted);
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let response: Response = next.run(request).await;
                    response
                }
            }));
    (serve(app), count)
}

/// Serves `app` on a loopback port from a thread of its own (the test
/// itself is synchronous); its address.
fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    address
}

/// A server that accepts connections, reads, and never answers; counts
/// connections.
fn silent_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while matches!(socket.read(&mut buffer), Ok(n) if n > 0) {}
            });
        }
    });
    (address, count)
}

fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address
}

#[test]
fn a_closed_port_stops_after_the_get_with_one_diagnosis() {
    let address = closed_port();
    let run = run(&["--json", &url(address)], &[]);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let doc = run.json();
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{doc:#}");
    assert_eq!(checks[0]["group"], "verify");
    assert_eq!(checks[0]["tries"], 1);
    assert_eq!(checks[0]["verdict"], "fail");
    assert_eq!(doc["stopped"]["after"], 1);
    assert_eq!(doc["stopped"]["reason"], "unreachable");
    let diagnosis = doc["stopped"]["diagnosis"].as_str().unwrap();
    assert!(
        diagnosis.contains(&format!("{address} is unreachable")),
        "{diagnosis}"
    );
    assert!(diagnosis.to_lowercase().contains("refused"), "{diagnosis}");
    assert!(doc["not_sent"].as_u64().unwrap() > 20, "{doc:#}");
    assert!(
        run.stderr.contains("hint: nothing accepts connections"),
        "{}",
        run.stderr
    );

    // The table: one row, the diagnosis once, the counts with what was not sent.
    let run = self::run(&[&url(address)], &[]);
    assert_eq!(run.status.code(), Some(1));
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().take(2).collect();
            matches!(words[..], [n, "verify" | "message" | "sample" | "forged"] if n.parse::<u32>().is_ok())
        })
        .collect();
    assert_eq!(rows.len(), 1, "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("unreachable").count(),
        1,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("stopped after check 1 of "),
        "{}",
        run.stdout
    );
    let last = run.stdout.lines().last().unwrap();
    assert!(
        last.starts_with("0 passed, 1 failed, 0 skipped, 0 warned, "),
        "{last}"
    );
    assert!(last.ends_with(" not sent"), "{last}");
}

#[test]
fn a_refused_signature_is_sent_once_and_the_hint_names_the_settings() {
    let (address, count) = layer_server("OtherToken1");
    let run = run(&["--json", &url(address)], &[]);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["checks"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["checks"][0]["status"], 403);
    assert_eq!(doc["stopped"]["reason"], "refused");
    assert_eq!(doc["stopped"]["status"], 403);
    let hint = doc["stopped"]["hint"].as_str().unwrap();
    for flag in FLAGS {
        assert!(hint.contains(flag), "{flag}: {hint}");
    }
    // The simulator ran with the demo's settings, and says so.
    assert!(
        hint.contains(
            "(--token, --encoding-aes-key and --receive-id are still the vendor demo's values)"
        ),
        "{hint}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1, "only the GET was sent");
}

#[test]
fn with_keep_going_a_4xx_is_never_retried_and_forged_checks_prove_nothing() {
    let (address, count) = layer_server("OtherToken1");
    let run = run(
        &["--keep-going", "--no-samples", "--json", &url(address)],
        &[],
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["stopped"], Value::Null);
    assert_eq!(doc["not_sent"], 0);
    let checks = doc["checks"].as_array().unwrap();
    let mut sent = 0;
    for check in checks {
        let name = format!("{} {}", check["group"], check["name"]);
        assert_eq!(check["tries"], 1, "{name}: a 4xx is not retried");
        sent += 1;
        match check["group"].as_str().unwrap() {
            "verify" | "message" => {
                assert_eq!(check["status"], 403, "{name}");
                assert_eq!(check["verdict"], "fail", "{name}");
            }
            "forged" => {
                assert_ne!(check["verdict"], "pass", "{name}: {}", check["detail"]);
                if check["status"] == 403 {
                    assert_eq!(check["verdict"], "skip", "{name}");
                    let detail = check["detail"].as_str().unwrap();
                    assert!(
                        detail.starts_with("inconclusive: genuine callbacks got HTTP 403 too")
                            || detail.starts_with("inconclusive: the genuine GET got HTTP 403 too"),
                        "{detail}"
                    );
                }
            }
            other => panic!("group {other}"),
        }
    }
    assert_eq!(doc["passed"], 0, "{doc:#}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        sent,
        "every request sent once"
    );
}

#[test]
fn a_wrong_kind_refused_as_malformed_stops_with_the_same_hint() {
    // An Official Account's GET carries `signature`, not `msg_signature`:
    // a WeCom app's layer answers 400.
    let (address, count) = layer_server("QDG6eK");
    let run = run(
        &["--kind", "official_account_safe", "--json", &url(address)],
        &[],
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["stopped"]["status"], 400, "{doc:#}");
    let diagnosis = doc["stopped"]["diagnosis"].as_str().unwrap();
    assert!(diagnosis.contains("HTTP 400"), "{diagnosis}");
    let hint = doc["stopped"]["hint"].as_str().unwrap();
    for flag in FLAGS {
        assert!(hint.contains(flag), "{flag}: {hint}");
    }
    assert!(hint.contains("--kind official_account_safe"), "{hint}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_silent_server_shows_the_try_number_and_is_given_up_after_the_first_callback() {
    let (address, count) = silent_server();
    let run = run(
        &[
            "--timeout",
            "0.5",
            "--retries",
            "1",
            "--json",
            &url(address),
        ],
        &[],
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let doc = run.json();
    let checks = doc["checks"].as_array().unwrap();
    let tries: Vec<(&str, u64)> = checks
        .iter()
        .map(|c| (c["group"].as_str().unwrap(), c["tries"].as_u64().unwrap()))
        .collect();
    assert_eq!(tries, [("verify", 1), ("message", 2)], "{doc:#}");
    assert_eq!(doc["stopped"]["reason"], "no_answer");
    let diagnosis = doc["stopped"]["diagnosis"].as_str().unwrap();
    assert!(
        diagnosis.contains("never answered the first callback"),
        "{diagnosis}"
    );
    assert!(
        diagnosis.contains("no answer within 0.5 s, 2 tries"),
        "{diagnosis}"
    );
    // The retry was announced while waiting (stderr is not a terminal here).
    assert!(
        run.stderr.contains("check 2 (message text \"hello from wecom-sim\"): try 2 of 2 (try 1: no answer within 0.5 s)"),
        "{}",
        run.stderr
    );
    // The kernel completes a connection before the server's thread accepts
    // it: give a busy machine a moment to count the last one.
    let settled = Instant::now();
    while count.load(Ordering::SeqCst) < 3 && settled.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "GET once, the first callback twice"
    );
}

#[test]
fn rows_print_as_they_finish() {
    // The GET waits 3 s, then the first callback 2 x 3 s: the GET's row must
    // be on stdout while the simulator still waits for the callback (6 s to
    // spare for a busy machine).
    let (address, _) = silent_server();
    let mut child = sim(&["--timeout", "3", "--retries", "1", &url(address)], &[]);
    let stderr = read_all(child.stderr.take().unwrap());
    let (lines, received) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut running_when_row_arrived = None;
    while let Ok(line) = received.recv_timeout(DEADLINE) {
        if line.trim_start().starts_with("1  verify") {
            running_when_row_arrived = Some(child.try_wait().unwrap().is_none());
            break;
        }
    }
    let status = wait(&mut child);
    reader.join().unwrap();
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(
        running_when_row_arrived,
        Some(true),
        "the GET's row came only at the end: {stderr}"
    );
}

/// Answers the GET with 200 and a wrong echostr (a failure, not a stop), and
/// every POST with a 200 whose encrypted reply has a bad signature.
fn bad_reply_server() -> SocketAddr {
    use axum::routing::get;
    let reply = "<xml><Encrypt><![CDATA[AAAA]]></Encrypt>\
                 <MsgSignature><![CDATA[0000000000000000000000000000000000000000]]></MsgSignature>\
                 <TimeStamp>1700000000</TimeStamp><Nonce><![CDATA[n]]></Nonce></xml>";
    let app = Router::new().route(
        PATH,
        get(|| async { "not the echostr" }).post(move || async move { reply }),
    );
    serve(app)
}

#[test]
fn the_detail_column_fits_the_width_and_keeps_the_error_codes() {
    let address = bad_reply_server();
    for columns in [120usize, 160] {
        let run = run(
            &["--no-forged", "--retries", "0", &url(address)],
            &[("COLUMNS", &columns.to_string())],
        );
        assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
        let callbacks: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.contains(" message ") || l.contains(" sample "))
            .collect();
        assert!(callbacks.len() > 3, "{}", run.stdout);
        for line in callbacks {
            assert!(
                console::measure_text_width(line) <= columns,
                "{columns}: {line}"
            );
            assert!(line.contains("-40001"), "{columns}: {line}");
        }
    }
}

#[test]
fn answers_of_the_wrong_shape_are_not_a_stop_but_get_a_hint() {
    let address = bad_reply_server();
    let run = run(
        &["--no-samples", "--no-forged", "--json", &url(address)],
        &[],
    );
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["stopped"], Value::Null);
    assert_eq!(doc["failed"], doc["checks"].as_array().unwrap().len());
    let hints: Vec<&str> = doc["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(hints.len(), 2, "{hints:?}");
    assert!(
        hints[0]
            .starts_with("the URL verification was answered (HTTP 200) but not with the echostr")
    );
    assert!(hints[1].starts_with("the first callback was answered (HTTP 200)"));
    assert!(
        run.stderr.contains("wecom-sim: hint: the first callback"),
        "{}",
        run.stderr
    );
}
