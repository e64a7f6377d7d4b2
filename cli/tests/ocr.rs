//! `accelrt ocr DIR` end to end on the real PP-OCRv4 models (fetched into the workspace's
//! `.cache` on first use): rendered pages in, text or JSON out, a broken image reported alone.

use std::path::{Path, PathBuf};

use accelrt_ocr::samples::{render, Font, LineSpec};
use assert_cmd::Command;
use serde_json::Value;

fn cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(".cache")
}

fn accelrt() -> Command {
    let mut cmd = Command::cargo_bin("accelrt").expect("the accelrt binary is built");
    cmd.env(accelrt_onnx::CACHE_ENV, cache());
    cmd
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("accelrt-cli-ocr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a page with `lines` (one per row) as `dir/name`.
fn page(dir: &Path, name: &str, lines: &[&str]) {
    let specs: Vec<LineSpec> = lines
        .iter()
        .enumerate()
        .map(|(i, t)| LineSpec {
            text: t.to_string(),
            font: Font::Sans,
            size: 30.0,
            x: 30.0,
            y: 30.0 + 80.0 * i as f32,
            angle: 0.0,
        })
        .collect();
    let (img, _) = render(640, 60 + 80 * lines.len() as u32, 250, &specs).unwrap();
    img.save(dir.join(name)).unwrap();
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn prints_each_images_text_in_name_order() {
    let dir = scratch("text");
    page(&dir, "a.png", &["Invoice 2024-117", "Total due: 310.25"]);
    page(&dir, "b.png", &["hello world"]);
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    let out = accelrt().arg("ocr").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let squashed: Vec<String> = text.lines().map(squash).collect();
    assert_eq!(
        squashed,
        ["a.png", "Invoice2024-117", "Totaldue:310.25", "b.png", "helloworld"],
        "{text}"
    );
    // Piped, no progress bar: nothing on stderr.
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn json_has_one_object_per_image_and_a_broken_image_fails_alone() {
    let dir = scratch("json");
    page(&dir, "a.png", &["Shipped 5521 items"]);
    std::fs::write(dir.join("b.jpg"), b"not a jpeg").unwrap();
    page(&dir, "c.png", &["Gate B12, seat 7C", "version 2.4.1"]);
    let out = accelrt().args(["ocr", "--json"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "error: 1 of 3 images could not be read");
    let objects: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 3);
    let texts = |o: &Value| -> Vec<String> {
        o["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| squash(l["text"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(objects[0]["file"], "a.png");
    assert_eq!(
        (objects[0]["width"].as_u64(), objects[0]["height"].as_u64()),
        (Some(640), Some(140))
    );
    assert_eq!(texts(&objects[0]), ["Shipped5521items"]);
    let line = &objects[0]["lines"][0];
    assert_eq!(line["box"].as_array().unwrap().len(), 4);
    assert_eq!(line["turned"], false);
    assert!(line["score"].as_f64().unwrap() > 0.5);
    assert_eq!(objects[1]["file"], "b.jpg");
    assert!(
        objects[1]["error"].as_str().unwrap().contains("b.jpg"),
        "{}",
        objects[1]
    );
    assert_eq!(texts(&objects[2]), ["GateB12,seat7C", "version2.4.1"]);
}

#[test]
fn verbose_says_which_layout_and_why_and_where_the_cores_went() {
    let dir = scratch("verbose");
    page(&dir, "a.png", &["version 2.4.1"]);
    let out = accelrt().args(["ocr", "--verbose"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().map(squash).collect::<Vec<_>>(), ["a.png", "version2.4.1"]);
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    // The layout for the cores this process may use, then why, then the cores' shares.
    let cores = accelrt_ocr::available_cores();
    assert_eq!(
        lines[0],
        format!("layout: {}", accelrt_ocr::OcrSettings::adaptive(cores).layout())
    );
    assert!(lines[1].starts_with(&format!("why: {cores} cores available")), "{err}");
    assert!(lines[2].starts_with("cores went to: decode "), "{err}");
    for step in ["detect", "crop", "classify", "recognize"] {
        assert!(lines[2].contains(step), "{err}");
    }
}

#[test]
fn a_folder_without_images_is_a_usage_error() {
    let dir = scratch("empty");
    for args in [
        vec!["ocr".to_string(), dir.display().to_string()],
        vec!["ocr".into(), dir.join("missing").display().to_string()],
    ] {
        let out = accelrt().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}
