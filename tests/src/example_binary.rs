//! Finding a package's example binary from its integration tests.
//!
//! Cargo gives tests `CARGO_BIN_EXE_<name>` for binaries but nothing for examples, and two
//! packages of one workspace with an example of the same name (both transports have `chat`)
//! share the uplifted path `<target>/<profile>/examples/chat`, which holds whichever was built
//! last. So the example is built (a no-op when fresh) and its own hashed binary is picked: the
//! `examples/<name>-<hash>` whose dep-info file names this package's source.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Builds `example` of `package` (whose manifest directory is `manifest_dir`) into the target
/// directory the calling test runs from, with the same profile, and returns its binary.
///
/// # Panics
/// If the build fails or no binary for this package's example is found: a test setup error.
pub fn example_binary(manifest_dir: &str, package: &str, example: &str) -> PathBuf {
    build_example(manifest_dir, package, example, &[])
}

/// [`example_binary`] built with more features, for tests that run only with them:
/// `selection` is the whole package and feature selection of the calling test's own build
/// (`-p …`, `--features …`; for the llama feature [`LLAMA_SELECTION`]), and the example is
/// built under the `test` profile, as the test was. Both matter when a feature compiles
/// C++ (llama.cpp): cargo reuses a build only for the same unit hashes, and those depend on
/// the profile and on how features unify across the selected packages — building the
/// example with `-p <package> --features llama` alone compiled llama.cpp a second time.
///
/// # Panics
/// As [`example_binary`].
pub fn example_binary_with_features(
    manifest_dir: &str,
    package: &str,
    example: &str,
    selection: &[&str],
) -> PathBuf {
    build_example(manifest_dir, package, example, selection)
}

/// The package and feature selection of CI's llama step (`.ci/run`), which builds and tests
/// the transports' `llama` feature: for [`example_binary_with_features`].
pub const LLAMA_SELECTION: &[&str] = &[
    "-p",
    "onellm-llama",
    "-p",
    "onellm-blocking",
    "-p",
    "onellm-tokio",
    "--features",
    "onellm-llama/engine,onellm-blocking/llama,onellm-tokio/llama",
];

fn build_example(manifest_dir: &str, package: &str, example: &str, selection: &[&str]) -> PathBuf {
    let test_exe = std::env::current_exe().expect("test binary path");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in <target>/<profile>/deps")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    // Cargo sets per-package variables for the test; passed on, they would make build
    // scripts (ring's) see a changed environment and rebuild half the tree.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let per_package = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "CARGO_TARGET_TMPDIR";
        if per_package {
            build.env_remove(name.as_ref());
        }
    }
    build
        .args(["build", "--quiet", "--example", example])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(manifest_dir);
    let release = profile_dir
        .file_name()
        .is_some_and(|name| name == "release");
    if release {
        build.arg("--release");
    }
    if selection.is_empty() {
        build.args(["-p", package]);
    } else {
        build.args(selection);
        if !release {
            build.args(["--profile", "test"]);
        }
    }
    let status = build.status().expect("run cargo build --example");
    assert!(
        status.success(),
        "cargo build -p {package} --example {example} failed"
    );

    let source = Path::new(manifest_dir)
        .join("examples")
        .join(format!("{example}.rs"));
    let source = source.to_string_lossy().into_owned();
    let examples = profile_dir.join("examples");
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(&examples)
        .expect("examples folder")
        .flatten()
    {
        let path = entry.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !(name.starts_with(&format!("{example}-")) && name.ends_with(".d")) {
            continue;
        }
        let Ok(dep_info) = std::fs::read_to_string(&path) else {
            continue;
        };
        // Dep-info paths are absolute or relative to the workspace root.
        let names_source = dep_info.split_whitespace().any(|token| {
            let token = token.trim_end_matches(':');
            token == source || source.ends_with(&format!("/{token}"))
        });
        if !names_source {
            continue;
        }
        let binary = path
            .with_extension("")
            .with_extension(std::env::consts::EXE_EXTENSION);
        let Ok(modified) = binary.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if newest.as_ref().is_none_or(|(time, _)| modified > *time) {
            newest = Some((modified, binary));
        }
    }
    newest
        .map(|(_, binary)| binary)
        .unwrap_or_else(|| panic!("no binary for {source} under {}", examples.display()))
}

/// Runs `binary` with `args`, `stdin` on its standard input (empty when `None`) and `env`
/// added to an environment without `ONELLM_MODEL`, `ONELLM_TIMEOUT` and the proxy
/// variables (so the caller's shell cannot change a test), and returns what it printed and how it exited.
///
/// # Panics
/// If the binary cannot be started: a test setup error.
pub fn run_example(
    binary: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(binary)
        .args(args)
        .env_remove("ONELLM_MODEL")
        .env_remove("ONELLM_TIMEOUT")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        // The tests read the fake's echo; a test of the demo's answers sets this to 0.
        .env("ONELLM_FAKE_ECHO", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("start {}: {error}", binary.display()));
    if let Some(mut input) = child.stdin.take() {
        // A binary that exits without reading its input closes the pipe: not an error here.
        input.write_all(stdin.unwrap_or_default().as_bytes()).ok();
    }
    child
        .wait_with_output()
        .unwrap_or_else(|error| panic!("run {}: {error}", binary.display()))
}
