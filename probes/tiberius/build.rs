// Reads resolved versions from Cargo.lock (the pin) and hands them to the probe, so each
// version is written down once, in the lockfile: TIBERIUS_VERSION (the "version" field) and,
// for the extra "tls_backend" field, the rustls, native-tls and openssl crate versions.
use std::{env, fs, path::Path};

fn main() {
    let lock = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-changed=build.rs");
    let text = fs::read_to_string(&lock).expect("build.rs: cannot read Cargo.lock");
    let version_of = |package: &str| -> Option<String> {
        text.split("[[package]]").find_map(|block| {
            let field = |key: &str| {
                block.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix(key)
                        .and_then(|r| r.trim_start().strip_prefix('='))
                        .map(|v| v.trim().trim_matches('"').to_string())
                })
            };
            (field("name").as_deref() == Some(package))
                .then(|| field("version"))
                .flatten()
        })
    };
    let tiberius = version_of("tiberius").expect("build.rs: no tiberius package in Cargo.lock");
    println!("cargo:rustc-env=TIBERIUS_VERSION={tiberius}");
    for (package, var) in [
        ("rustls", "TLSLAB_RUSTLS_VERSION"),
        ("native-tls", "TLSLAB_NATIVE_TLS_VERSION"),
        ("openssl", "TLSLAB_OPENSSL_VERSION"),
    ] {
        let v = version_of(package).unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env={var}={v}");
    }
}
