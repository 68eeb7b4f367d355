//! `cargo run -p energy-utility-idl` writes `idl/energy_utility.json`, the program's IDL as
//! Anchor's own builder makes it (what `anchor idl build` runs: the program's
//! `__anchor_private_print_idl` test under the `idl-build` feature, assembled by
//! `anchor-lang-idl`). `-- --check` writes nothing and fails, naming the command to run, when
//! the committed file differs from what the program builds: CI runs that.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anchor_lang_idl::build::IdlBuilder;
use anyhow::Context;

const USAGE: &str = "usage: cargo run -p energy-utility-idl [-- --check]

Builds the energy_utility program's IDL with Anchor's IDL builder and writes it to
idl/energy_utility.json. With --check, writes nothing and fails if the committed file is not
what the program builds (CI runs this). The build uses its own target folder, target/idl.";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the idl crate sits in the workspace")
        .to_path_buf()
}

/// The IDL as the program builds it, as pretty JSON with a final newline.
fn build() -> anyhow::Result<String> {
    let root = workspace();
    // anchor-lang-idl passes `+{toolchain}` literally to cargo when RUSTUP_TOOLCHAIN is set
    // (rustup sets it for the processes `cargo run` starts); the toolchain is this one anyway.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let target = root.join("target/idl");
    let idl = IdlBuilder::new()
        .program_path(root.join("programs/energy_utility"))
        // Its own target folder: the builder sets RUSTFLAGS, which would otherwise make the
        // next ordinary build recompile everything.
        .cargo_args(vec![
            "--target-dir".into(),
            target.to_string_lossy().into_owned(),
        ])
        .build()
        .context("build the IDL (ANCHOR_LOG=1 shows the builder's output)")?;
    let mut json = serde_json::to_string_pretty(&idl)?;
    json.push('\n');
    Ok(json)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check" => true,
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let file = workspace().join("idl/energy_utility.json");
    eprintln!("energy-utility-idl: building the IDL (Anchor's builder; the first build takes a few minutes)");
    let built = match build() {
        Ok(json) => json,
        Err(e) => {
            eprintln!("energy-utility-idl: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        if committed == built {
            eprintln!("energy-utility-idl: {} is fresh", file.display());
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "energy-utility-idl: {} is stale: the program's instructions, accounts, events or \
             errors changed. Regenerate it and commit it:\n  cargo run -p energy-utility-idl",
            file.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&file, &built) {
        eprintln!("energy-utility-idl: write {}: {e}", file.display());
        return ExitCode::FAILURE;
    }
    eprintln!("energy-utility-idl: wrote {}", file.display());
    ExitCode::SUCCESS
}
