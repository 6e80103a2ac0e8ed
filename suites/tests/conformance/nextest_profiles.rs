//! Plain `cargo nextest run` passes everything that needs no cluster, leaves the e2e
//! tests out and says so: this test is the saying (its output is shown in the default
//! profile), and it checks the configuration that makes it true.

use std::path::Path;

/// The sections of `.config/nextest.toml` as `(header, body)` pairs.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![(String::new(), String::new())];
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && !trimmed.starts_with("[\"") {
            out.push((trimmed.to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out
}

#[test]
fn plain_runs_leave_the_e2e_tests_out_and_say_how_to_run_them() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.config/nextest.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let sections = sections(&text);
    let body = |header: &str| -> String {
        sections
            .iter()
            .filter(|(h, _)| h == header)
            .map(|(_, b)| b.as_str())
            .collect()
    };
    assert!(
        body("[profile.default]").contains(r#"default-filter = "not binary(e2e)""#),
        "the default profile must leave the e2e binary out"
    );
    assert!(
        body("[[profile.default.scripts]]").is_empty(),
        "the default profile must not bring clusters up"
    );
    assert!(body("[profile.e2e]").contains(r#"default-filter = "all()""#));
    assert!(body("[[profile.e2e.scripts]]").contains(r#"setup = "kind-clusters""#));
    assert!(body("[profile.ci]").contains(r#"inherits = "e2e""#));
    println!(
        "note: the e2e tests (binary `e2e`: the behaviours on real kind clusters) were left out.\n\
         note: run them with `./conformance test` (sets everything up) or, as root with Docker, \
         `cargo nextest run --profile e2e`; see README, Tests."
    );
}
