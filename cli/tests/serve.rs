//! `accelrt serve` as a process: it serves a model repository, and on SIGTERM (what Kubernetes
//! sends) it shuts down gracefully and exits 0.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::{cache, serve};

/// One HTTP/1.1 request on a fresh connection; the status code and body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

#[cfg(unix)]
#[test]
fn serves_a_repository_and_stops_on_sigterm() {
    accelrt_onnx::set_cache_dir(cache());
    let mul = accelrt_onnx::models::datasets()
        .expect("the onnxruntime test models")
        .mul_1;
    let repo = std::env::temp_dir().join(format!("accelrt-cli-serve-{}", std::process::id()));
    std::fs::create_dir_all(repo.join("mul").join("1")).unwrap();
    std::fs::copy(&mul, repo.join("mul").join("1").join("model.onnx")).unwrap();
    // A config with a field accelrt does not use: the log says so.
    std::fs::write(
        repo.join("mul").join("config.pbtxt"),
        "max_batch_size: 0\noptimization { }\n",
    )
    .unwrap();

    let mut child = serve(&repo);
    let child = &mut child.0;
    let mut log = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let http_addr = loop {
        let mut line = String::new();
        if log.read_line(&mut line).unwrap() == 0 {
            panic!("accelrt serve exited before serving:\n{seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.strip_prefix("accelrt serve: HTTP ") {
            break rest.split(',').next().unwrap().to_string();
        }
    };
    assert!(seen.contains("optimization"), "the ignored field is logged:\n{seen}");
    assert_eq!(http(&http_addr, "GET", "/v2/health/ready", "").0, 200);
    let (status, body) = http(
        &http_addr,
        "POST",
        "/v2/models/mul/infer",
        r#"{"inputs":[{"name":"X","shape":[3,2],"datatype":"FP32","data":[1,1,1,1,1,1]}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""data":[1.0,2.0,3.0,4.0,5.0,6.0]"#), "{body}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    log.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "exit status {status}:\n{seen}{rest}");
    assert!(
        rest.contains("readiness is false") && rest.contains("stopped"),
        "{rest}"
    );
    let _ = std::fs::remove_dir_all(&repo);
}
