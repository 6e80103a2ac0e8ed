//! Node images kind publishes, and the route each version's node image takes: already in
//! the engine, pulled by digest, or built here from source.
//!
//! A published image is only ever named by digest: kind's tags are reused across its
//! releases, and only the digest says which release built an image (kind's release
//! notes: "You must use the @sha256 digest").

use std::time::Duration;

use serde::Serialize;

use crate::error::{NoUpstream, ResolveError, SupplyError};
use crate::version::{KIND_VERSION, KubeVersion};

/// The images kind v0.33.0 publishes, as its release notes list them under "Images
/// pre-built for this release" (https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0).
/// Newest first. Replace the whole table when the pinned kind release changes.
pub const KIND_RELEASE_IMAGES: &[(&str, &str)] = &[
    (
        "1.37.0",
        "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
    ),
    (
        "1.36.4",
        "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
    ),
    (
        "1.35.8",
        "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
    ),
    (
        "1.34.11",
        "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
    ),
];

/// Setting that overrides entries of [`KIND_RELEASE_IMAGES`]: `VERSION=REFERENCE`
/// pairs separated by commas or white space, each reference pinned by digest, e.g.
/// `1.37.0=kindest/node:v1.37.0@sha256:<64 hex digits>`. An entry replaces the table's
/// entry of its version or adds one. Its images are used as given, on any host: the
/// e2e tests publish an image built here through a local registry mirror this way.
pub const NODE_IMAGES_ENV: &str = "SIDECAR_CONFORMANCE_NODE_IMAGES";

/// A published node image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub version: KubeVersion,
    /// `name[:tag]@sha256:<digest>`.
    pub reference: String,
    /// Named by [`NODE_IMAGES_ENV`] rather than by kind's release notes.
    pub overridden: bool,
}

/// The published images: kind's table with the setting's entries over it, newest first.
pub fn published_images() -> Result<Vec<Published>, SupplyError> {
    let setting = std::env::var(NODE_IMAGES_ENV).unwrap_or_default();
    merge(KIND_RELEASE_IMAGES, &setting)
}

fn merge(table: &[(&str, &str)], setting: &str) -> Result<Vec<Published>, SupplyError> {
    let mut out: Vec<Published> = table
        .iter()
        .map(|(v, r)| Published {
            version: v.parse().expect("the table's versions are well-formed"),
            reference: r.to_string(),
            overridden: false,
        })
        .collect();
    for entry in setting
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        let bad = |why: &str| SupplyError::BadSetting {
            name: NODE_IMAGES_ENV,
            detail: format!("{entry:?}: {why}"),
        };
        let (version, reference) = entry
            .split_once('=')
            .ok_or_else(|| bad("expected VERSION=REFERENCE"))?;
        let version = KubeVersion::parse_supported(version).map_err(|e| bad(&e.to_string()))?;
        if !is_pinned(reference) {
            return Err(bad(
                "the reference must be pinned by digest (name:tag@sha256:<64 hex digits>): a tag alone can name another build",
            ));
        }
        out.retain(|p| p.version != version);
        out.push(Published {
            version,
            reference: reference.to_string(),
            overridden: true,
        });
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.version));
    Ok(out)
}

/// Whether `reference` ends in `@sha256:` and 64 lower-case hex digits.
fn is_pinned(reference: &str) -> bool {
    reference.split_once("@sha256:").is_some_and(|(name, digest)| {
        !name.is_empty()
            && digest.len() == 64
            && digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The route a version's node image takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "route", rename_all = "kebab-case")]
pub enum Route {
    /// The published image is already in the engine.
    Present { reference: String },
    /// A registry answers for the published image: it is pulled by digest.
    Pull { reference: String },
    /// Built on this machine from Go modules and Debian packages.
    Build { reason: String },
}

/// A version's route and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub version: KubeVersion,
    #[serde(flatten)]
    pub route: Route,
}

impl Plan {
    /// `VERSION<TAB>published|build<TAB>REFERENCE|-<TAB>REASON`: the line `supply --plan`
    /// prints, read by the CI scripts.
    pub fn line(&self) -> String {
        let (how, reference, reason) = match &self.route {
            Route::Present { reference } => (
                "published",
                reference.as_str(),
                "present in the Docker engine".to_string(),
            ),
            Route::Pull { reference } => (
                "published",
                reference.as_str(),
                "a registry answers: pulled by digest".to_string(),
            ),
            Route::Build { reason } => ("build", "-", reason.clone()),
        };
        format!("{}\t{how}\t{reference}\t{reason}", self.version)
    }

    pub fn is_published(&self) -> bool {
        !matches!(self.route, Route::Build { .. })
    }
}

/// What the route depends on besides the table, gathered by the caller so that
/// [`route`] stays a pure function.
pub trait Engine {
    /// Whether the engine holds `reference`.
    fn has(&self, reference: &str) -> bool;
    /// `Ok` when a registry (or the engine's mirror of it) answers for `reference`.
    fn resolves(&self, reference: &str) -> Result<(), ResolveError>;
}

/// Decides the route of `version` on a host (`cgroup_v1`) with `engine`.
pub fn route(version: KubeVersion, published: &[Published], cgroup_v1: bool, engine: &dyn Engine) -> Plan {
    let build = |reason: String| Plan {
        version,
        route: Route::Build { reason },
    };
    let Some(p) = published.iter().find(|p| p.version == version) else {
        let listed: Vec<String> = published.iter().map(|p| p.version.to_string()).collect();
        return build(format!(
            "kind {KIND_VERSION} publishes no image for {version} (it publishes {})",
            listed.join(", ")
        ));
    };
    // kind v0.31.0's release notes: node images of 1.35 and later drop cgroup v1
    // support. An image named by the setting is taken as given.
    if cgroup_v1 && version.minor >= 35 && !p.overridden {
        return build(format!(
            "this host runs cgroup v1, which kind's published images from 1.35 on do not support (kind v0.31.0 release notes); {} is not used",
            p.reference
        ));
    }
    if engine.has(&p.reference) {
        return Plan {
            version,
            route: Route::Present {
                reference: p.reference.clone(),
            },
        };
    }
    match engine.resolves(&p.reference) {
        Ok(()) => Plan {
            version,
            route: Route::Pull {
                reference: p.reference.clone(),
            },
        },
        Err(e) => build(format!("no registry answers for {}: {e}", p.reference)),
    }
}

/// The Docker engine on this machine, asked through its API (bollard) so that its
/// registry mirrors apply as they do to a pull.
pub struct DockerEngine;

impl Engine for DockerEngine {
    fn has(&self, reference: &str) -> bool {
        super::command_output(
            std::path::Path::new("docker"),
            &["image", "inspect", "--format", "{{.Id}}", reference],
        )
        .is_some()
    }

    fn resolves(&self, reference: &str) -> Result<(), ResolveError> {
        const PATIENCE: Duration = Duration::from_secs(30);
        let reference = reference.to_string();
        // Its own runtime on its own thread: callers may be inside tokio or not.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ResolveError::Runtime)?;
            rt.block_on(async {
                use testcontainers::bollard::Docker;
                let docker = Docker::connect_with_defaults().map_err(ResolveError::Engine)?;
                match tokio::time::timeout(PATIENCE, docker.inspect_registry_image(&reference, None)).await {
                    Err(_) => Err(ResolveError::NoAnswer(PATIENCE)),
                    Ok(Err(e)) => Err(ResolveError::Registry(e)),
                    Ok(Ok(_)) => Ok(()),
                }
            })
        })
        .join()
        .unwrap_or(Err(ResolveError::Panicked))
    }
}

/// A cluster of the list as it runs on a machine that reaches Docker Hub (GitHub's
/// hosted runners): on kind's image of its version; else on kind's newest image of the
/// same minor (the gate table, and so every expectation, is per minor); else built from
/// source. `clusters matrix` gives this for the CI workflow's matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostedCell {
    /// The line of the list, `VERSION:GATE`.
    pub cell: String,
    /// The cell as a name for files and artifacts, `VERSION-GATE`.
    pub slug: String,
    /// The cluster to run there, `VERSION:GATE`.
    pub cluster: String,
    pub kubernetes: String,
    pub gate: String,
    /// `published` or `build`.
    pub route: &'static str,
    pub why: String,
}

pub fn hosted_cell(version: KubeVersion, gate: &str, published: &[Published]) -> HostedCell {
    let cell = format!("{version}:{gate}");
    let exact = published.iter().find(|p| p.version == version);
    let same_minor = published.iter().find(|p| p.version.minor == version.minor);
    let (run, route, why) = match (exact, same_minor) {
        (Some(p), _) => (p.version, "published", p.reference.clone()),
        (None, Some(p)) => (
            p.version,
            "published",
            format!(
                "kind {KIND_VERSION} publishes {} rather than {version}: {}",
                p.version, p.reference
            ),
        ),
        (None, None) => (
            version,
            "build",
            format!(
                "kind {KIND_VERSION} publishes no 1.{} image: built from source",
                version.minor
            ),
        ),
    };
    HostedCell {
        slug: cell.replace(':', "-"),
        cell,
        cluster: format!("{run}:{gate}"),
        kubernetes: run.to_string(),
        gate: gate.to_string(),
        route,
        why,
    }
}

/// `Ok` when the nodes can pull `image` from its registry themselves: the engine
/// reaches it, and not through a registry mirror (`mirrors`, the engine's list as JSON),
/// which the nodes' containerd would not use.
pub fn upstream_route(image: &str, mirrors: &str, engine: &dyn Engine) -> Result<(), NoUpstream> {
    if !matches!(mirrors, "" | "[]" | "null") {
        return Err(NoUpstream::Mirrors {
            mirrors: mirrors.to_string(),
        });
    }
    engine.resolves(image).map_err(|error| NoUpstream::NoAnswer {
        image: image.to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    struct Fake {
        has: bool,
        answers: bool,
    }
    impl Engine for Fake {
        fn has(&self, _: &str) -> bool {
            self.has
        }
        fn resolves(&self, _: &str) -> Result<(), ResolveError> {
            if self.answers {
                Ok(())
            } else {
                Err(ResolveError::Registry(
                    testcontainers::bollard::errors::Error::DockerResponseServerError {
                        status_code: 500,
                        message: "dial tcp: lookup registry-1.docker.io: no such host".into(),
                    },
                ))
            }
        }
    }

    fn build_reason(plan: Plan) -> String {
        match plan.route {
            Route::Build { reason } => reason,
            other => panic!("expected a build, got {other:?}"),
        }
    }

    fn v(s: &str) -> KubeVersion {
        s.parse().unwrap()
    }

    #[test]
    fn every_table_entry_is_pinned_by_digest_and_matches_its_version() {
        for (version, reference) in KIND_RELEASE_IMAGES {
            assert!(is_pinned(reference), "{reference}");
            assert!(
                reference.starts_with(&format!("kindest/node:v{version}@")),
                "{reference} is not the image of {version}"
            );
        }
    }

    #[test]
    fn the_setting_replaces_or_adds_entries_and_refuses_tags_alone() {
        let merged = merge(
            KIND_RELEASE_IMAGES,
            &format!("1.37.0=kindest/node:v1.37.0@sha256:{DIGEST}, 1.32.2=example/node@sha256:{DIGEST}"),
        )
        .unwrap();
        let new = merged.iter().find(|p| p.version == v("1.37.0")).unwrap();
        assert!(new.overridden && new.reference.ends_with(DIGEST));
        assert_eq!(merged.iter().filter(|p| p.version == v("1.37.0")).count(), 1);
        assert!(merged.iter().any(|p| p.version == v("1.32.2") && p.overridden));
        assert_eq!(merged[0].version, v("1.37.0"), "newest first");

        for bad in [
            "1.37.0=kindest/node:v1.37.0",
            "1.37.0=kindest/node:v1.37.0@sha256:abc",
            "kindest/node:v1.37.0@sha256:0123",
            "1.12.0=kindest/node@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let e = merge(KIND_RELEASE_IMAGES, bad).unwrap_err().to_string();
            assert!(e.contains(NODE_IMAGES_ENV), "{bad}: {e}");
        }
    }

    #[test]
    fn routes_follow_table_host_and_registry() {
        let table = merge(KIND_RELEASE_IMAGES, "").unwrap();
        let answers = Fake {
            has: false,
            answers: true,
        };
        let silent = Fake {
            has: false,
            answers: false,
        };
        let here = Fake {
            has: true,
            answers: false,
        };

        let reason = build_reason(route(v("1.37.2"), &table, false, &answers));
        assert!(
            reason.contains("publishes no image for 1.37.2") && reason.contains("1.34.11"),
            "{reason}"
        );

        let over = merge(
            KIND_RELEASE_IMAGES,
            &format!("1.37.0=kindest/node:v1.37.0@sha256:{DIGEST}"),
        )
        .unwrap();
        let how = |p: Plan| match p.route {
            Route::Present { .. } => "present",
            Route::Pull { .. } => "pull",
            Route::Build { .. } => "build",
        };
        // (version, table, cgroup v1, engine, route): on cgroup v1, kind's own images
        // from 1.35 on are not used; 1.34 is, and so is an image the setting names.
        for (version, table, cgroup_v1, engine, expected) in [
            ("1.37.0", &table, false, &answers, "pull"),
            ("1.37.0", &table, false, &here, "present"),
            ("1.36.4", &table, true, &answers, "build"),
            ("1.34.11", &table, true, &answers, "pull"),
            ("1.37.0", &over, true, &answers, "pull"),
        ] {
            let got = how(route(v(version), table, cgroup_v1, engine));
            assert_eq!(got, expected, "{version}, cgroup v1 {cgroup_v1}");
        }
        let reason = build_reason(route(v("1.37.0"), &table, false, &silent));
        assert!(
            reason.contains("no registry answers") && reason.contains("no such host"),
            "{reason}"
        );
    }

    #[test]
    fn workload_images_come_from_their_registry_only_when_it_answers_directly() {
        let image = "docker.io/library/alpine:latest";
        let answers = Fake {
            has: false,
            answers: true,
        };
        assert!(upstream_route(image, "[]", &answers).is_ok());
        assert!(upstream_route(image, "null", &answers).is_ok());
        let e = upstream_route(image, r#"["http://127.0.0.1:5555/"]"#, &answers)
            .unwrap_err()
            .to_string();
        assert!(e.contains("mirrors"), "{e}");
        let e = upstream_route(
            image,
            "[]",
            &Fake {
                has: false,
                answers: false,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no registry answers") && e.contains(image), "{e}");
    }

    #[test]
    fn hosted_cells_run_on_a_published_image_of_their_minor_where_there_is_one() {
        let table = merge(KIND_RELEASE_IMAGES, "").unwrap();
        let c = hosted_cell(v("1.37.2"), "default", &table);
        assert_eq!((c.cluster.as_str(), c.route), ("1.37.0:default", "published"));
        assert!(c.why.contains("rather than 1.37.2"), "{}", c.why);
        let c = hosted_cell(v("1.34.11"), "on", &table);
        assert_eq!((c.cluster.as_str(), c.route), ("1.34.11:on", "published"));
        let c = hosted_cell(v("1.32.2"), "off", &table);
        assert_eq!(
            (c.cluster.as_str(), c.route, c.cell.as_str()),
            ("1.32.2:off", "build", "1.32.2:off")
        );
    }

    #[test]
    fn the_plan_line_is_four_tab_separated_fields() {
        let table = merge(KIND_RELEASE_IMAGES, "").unwrap();
        let engine = Fake {
            has: false,
            answers: true,
        };
        let line = |version: &str| route(v(version), &table, false, &engine).line();
        let built = line("1.32.2");
        let fields: Vec<&str> = built.split('\t').collect();
        assert_eq!(fields.len(), 4, "{built}");
        assert_eq!(&fields[..3], ["1.32.2", "build", "-"]);
        let pulled = line("1.37.0");
        assert!(
            pulled.starts_with("1.37.0\tpublished\tkindest/node:v1.37.0@sha256:a1ed"),
            "{pulled}"
        );
    }
}
