//! Scale-out with real parts: two `accelrt serve` replicas behind nginx (from Debian's
//! packages, installed with apt-get when missing) on loopback, HTTP and gRPC, driven by
//! `tritonclient` from PyPI. One replica is killed (SIGKILL) in the middle of the run. Every
//! request must end once: answered with its own correct result, or with a protocol error (the
//! requests in flight on the killed replica); none hang, none get another's answer, and the
//! surviving replica carries everything sent after the kill.
//!
//! Needs root for apt-get (or nginx already installed), PyPI for tritonclient; set
//! `ACCELRT_SKIP_SCALE_OUT=1` to skip it where neither is available.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{cache, serve, Reaped};

/// nginx's master process; stopped with SIGTERM (its fast shutdown) so that it takes its
/// workers with it, which a SIGKILL of the master would leave behind.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn check(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}); set ACCELRT_SKIP_SCALE_OUT=1 to skip this test.\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// nginx, installed from Debian's packages when missing.
fn nginx() -> PathBuf {
    let installed = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if let Some(p) = installed {
        return p;
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", "nginx"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !install() {
        check(Command::new("apt-get").args(["update", "-q"]), "apt-get update");
        check(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends", "nginx"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install nginx",
        );
    }
    PathBuf::from("/usr/sbin/nginx")
}

/// The tritonclient virtual environment in the cache (the same one the server's tests use).
fn python() -> PathBuf {
    accelrt_onnx::python_env(
        "venv-tritonclient-2.73.0",
        &["tritonclient[http,grpc]==2.73.0", "numpy"],
    )
    .unwrap_or_else(|e| panic!("{e}\nset ACCELRT_SKIP_SCALE_OUT=1 to skip this test"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts a replica; returns it and its HTTP, gRPC and metrics addresses from its start-up line.
fn replica(repo: &Path) -> (Reaped, [String; 3]) {
    let mut child = serve(repo);
    let mut log = BufReader::new(child.0.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if log.read_line(&mut line).unwrap() == 0 {
            panic!("a replica exited before serving:\n{seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("accelrt serve: HTTP ") {
            // "HOST:PORT, gRPC HOST:PORT, metrics http://HOST:PORT/metrics"
            let parts: Vec<&str> = rest.split(", ").collect();
            let grpc = parts[1].trim_start_matches("gRPC ").to_string();
            let metrics = parts[2]
                .trim_start_matches("metrics http://")
                .trim_end_matches("/metrics")
                .to_string();
            // Keep draining the log so the replica never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                let _ = log.read_to_string(&mut sink);
            });
            return (child, [parts[0].to_string(), grpc, metrics]);
        }
    }
}

fn successes(metrics_addr: &str) -> u64 {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(metrics_addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .find(|l| l.starts_with("nv_inference_request_success{model=\"mul\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(unix)]
#[test]
fn two_replicas_behind_nginx_survive_losing_one() {
    if std::env::var_os("ACCELRT_SKIP_SCALE_OUT").is_some_and(|v| v == "1") {
        eprintln!("skipped: ACCELRT_SKIP_SCALE_OUT=1");
        return;
    }
    let nginx = nginx();
    let python = python();
    accelrt_onnx::set_cache_dir(cache());
    let mul = accelrt_onnx::models::datasets()
        .expect("the onnxruntime test models")
        .mul_1;
    let dir = std::env::temp_dir().join(format!("accelrt-scale-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let repo = dir.join("models");
    std::fs::create_dir_all(repo.join("mul").join("1")).unwrap();
    std::fs::copy(&mul, repo.join("mul").join("1").join("model.onnx")).unwrap();

    let (mut first, a) = replica(&repo);
    let (_second, b) = replica(&repo);
    let (lb_http, lb_grpc) = (free_port(), free_port());
    let d = dir.display();
    // Requests that cannot reach a replica (connection refused) go to the other one; a POST
    // already sent to a replica that dies is not resent (nginx's default for non-idempotent
    // requests) and ends as a 502, a protocol error the client sees.
    let conf = format!(
        r#"
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream rest {{ server {a_http} max_fails=1 fail_timeout=60s; server {b_http} max_fails=1 fail_timeout=60s; keepalive 16; }}
    upstream grpc_replicas {{ server {a_grpc} max_fails=1 fail_timeout=60s; server {b_grpc} max_fails=1 fail_timeout=60s; }}
    server {{
        listen 127.0.0.1:{lb_http};
        location / {{
            proxy_pass http://rest;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout;
            proxy_read_timeout 30s;
        }}
    }}
    server {{
        listen 127.0.0.1:{lb_grpc} http2;
        location / {{
            grpc_pass grpc://grpc_replicas;
            grpc_next_upstream error timeout;
            grpc_read_timeout 30s;
        }}
    }}
}}
"#,
        a_http = a[0],
        b_http = b[0],
        a_grpc = a[1],
        b_grpc = b[1],
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let _lb = Nginx(
        Command::new(&nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .spawn()
            .unwrap(),
    );
    // Wait until nginx listens.
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", lb_http)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nginx did not start: see {d}/error.log"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/scale_out_load.py");
    let load = Command::new(&python)
        .arg(&script)
        .args([
            "--http",
            &format!("127.0.0.1:{lb_http}"),
            "--grpc",
            &format!("127.0.0.1:{lb_grpc}"),
        ])
        .arg("--dir")
        .arg(&dir)
        .args(["--requests", "1500", "--threads", "8", "--marker-after", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-run: once 300 requests succeeded, kill the first replica outright.
    while !dir.join("started").exists() {
        assert!(start.elapsed() < Duration::from_secs(300), "the load never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    let served_by_first = successes(&a[2]);
    first.0.kill().unwrap();
    let _ = first.0.wait();
    std::fs::write(dir.join("killed"), "").unwrap();
    let before_b = successes(&b[2]);

    let out = load.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    let n = |k: &str| summary[k].as_u64().unwrap();
    eprintln!("{summary}");
    assert_eq!(n("answered"), 1500, "every request ended exactly once: {summary}");
    assert_eq!(
        n("ok") + n("error"),
        1500,
        "each succeeded or got a protocol error: {summary}"
    );
    assert_eq!((n("wrong"), n("hung"), n("twice")), (0, 0, 0), "{summary}");
    assert!(
        n("http_ok") > 0 && n("grpc_ok") > 0,
        "both protocols went through nginx: {summary}"
    );
    assert!(served_by_first > 0, "the first replica took part before it was killed");
    // After the kill the survivor answered everything that succeeded.
    assert!(n("ok_after_kill") > 0, "{summary}");
    // A request nginx had just sent over a kept-alive connection to the dead replica is not
    // resent (it is a POST), so a few of those right after the kill may end as 502s; at most
    // one per client thread, before nginx marks the replica down.
    assert!(
        n("error_after_kill") <= 8,
        "requests sent after the kill succeeded: {summary}"
    );
    let carried = successes(&b[2]) - before_b;
    assert!(
        carried >= n("ok_after_kill"),
        "the survivor answered {carried} requests after the kill, fewer than the {} that succeeded",
        n("ok_after_kill")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
