//! The HTML report's timelines as a person sees them: rendered by a real headless
//! Chromium (Debian's `chromium`, installed by `./conformance test`), the screenshot
//! read back pixel by pixel, and the bars checked against the recorded observation:
//! in a Job's pod the sidecar's bar begins left of the app's and ends right of it, at
//! the positions the recorded times give.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, ensure};
use sidecar_conformance::behaviour::{Observation, Outcome};
use sidecar_conformance::gate::GateSetting;
use sidecar_conformance::report::timeline::{APP_FILL, SIDECAR_FILL, lane};
use sidecar_conformance::report::{CheckResult, Report, Verdict, html};

pub fn timelines_render_in_chromium_as_recorded() -> anyhow::Result<()> {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/observations/1.37.2-default/job-completes.json");
    let obs: Observation = serde_json::from_slice(&std::fs::read(&fixture)?)?;
    let mut result = CheckResult::blank(
        "sc-1-37-2-default-test",
        "1.37.2".parse()?,
        GateSetting::Default,
        Outcome::Holds,
    );
    result.behaviour = "job-completes".into();
    // Failed results are shown open: the drawing is on screen without a click.
    result.verdict = Verdict::Fail;
    let report = Report::new(
        "drawing",
        Path::new("."),
        jiff::Timestamp::now(),
        vec![],
        vec![],
        vec![result],
    );
    let page = html::render_with(&report, |_| Some(obs.clone()));

    let dir = std::env::temp_dir().join(format!("sc-drawing-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let html_path = dir.join("report.html");
    let png_path = dir.join("report.png");
    std::fs::write(&html_path, &page)?;
    let chromium = which::which("chromium")
        .context("chromium is missing: `./conformance test` installs it (apt-get install chromium)")?;
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,1400",
        ])
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("file://{}", html_path.display()))
        .stdin(Stdio::null())
        .output()?;
    ensure!(
        out.status.success() && png_path.is_file(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path)?));
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().context("png size")?];
    let info = reader.next_frame(&mut buf)?;
    let channels = info.color_type.samples();
    let span_of = |hex: &str| -> Option<(u32, u32)> {
        let rgb = [1, 3, 5].map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        let mut xs = None::<(u32, u32)>;
        for y in 0..info.height {
            for x in 0..info.width {
                let at = ((y * info.width + x) as usize) * channels;
                if buf[at..at + 3] == rgb {
                    xs = Some(xs.map_or((x, x), |(a, b)| (a.min(x), b.max(x))));
                }
            }
        }
        xs
    };
    let sidecar = span_of(SIDECAR_FILL).context("no sidecar bar on the screenshot")?;
    let app = span_of(APP_FILL).context("no app bar on the screenshot")?;
    let _ = std::fs::remove_dir_all(&dir);

    ensure!(
        sidecar.0 < app.0,
        "the sidecar's bar must begin left of the app's: {sidecar:?} {app:?}"
    );
    ensure!(
        sidecar.1 > app.1,
        "the sidecar's bar must end right of the app's: {sidecar:?} {app:?}"
    );
    // Where the recording puts them: the app's start and end as fractions of the
    // sidecar's run, against the same fractions in pixels.
    let pod = obs.timeline.pods.values().next().context("a pod")?;
    let lanes: Vec<_> = pod.containers.iter().map(lane).collect();
    let (s, a) = (&lanes[0].runs[0], &lanes[1].runs[0]);
    let s_end = lanes[0]
        .runs
        .last()
        .and_then(|r| r.end)
        .context("the sidecar's end")?;
    let frac = |t: jiff::Timestamp| {
        (t - s.start).total(jiff::Unit::Second).unwrap()
            / (s_end - s.start).total(jiff::Unit::Second).unwrap()
    };
    let px = |x: u32| f64::from(x - sidecar.0) / f64::from(sidecar.1 - sidecar.0);
    let app_end = a.end.context("the app's end")?;
    for (what, recorded, drawn) in [
        ("app start", frac(a.start), px(app.0)),
        ("app end", frac(app_end), px(app.1)),
    ] {
        ensure!(
            (recorded - drawn).abs() < 0.03,
            "{what}: at {recorded:.3} of the sidecar's run in the recording, drawn at {drawn:.3}"
        );
    }
    eprintln!("drawn: sidecar x {sidecar:?}, app x {app:?}");
    Ok(())
}
