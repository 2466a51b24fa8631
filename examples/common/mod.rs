//! Options shared by the thin-jail examples: which release the template is of, and where its
//! archive comes from. Every option has the recipe's default, so each example runs with no
//! arguments; on a host without network access, `--archive` gives a local `base.txz`.

use std::path::PathBuf;

use clap::Parser;
use thinjail::core::model::{ThinJail, ThinJailSpec};

/// The recipe's `dev` jail, on a template of `--release`.
#[derive(Parser, Debug)]
pub struct Opts {
    /// Release of the template (e.g. the host's own: `freebsd-version -k`).
    #[arg(long, default_value = "14.2-RELEASE")]
    pub release: String,
    /// A local base.txz for the template (default: download it from download.freebsd.org).
    #[arg(long)]
    pub archive: Option<PathBuf>,
    /// The release's MANIFEST, to verify `--archive` against.
    #[arg(long, requires = "archive")]
    pub manifest: Option<PathBuf>,
    /// Run PROGRAM instead of freebsd-update(8), with its arguments (template update only).
    #[arg(long, value_name = "PROGRAM")]
    pub updater: Option<String>,
}

impl Opts {
    /// The recipe's `dev` jail with these options.
    pub fn jail(&self) -> Result<ThinJail, thinjail::core::model::ModelError> {
        ThinJailSpec {
            release: self.release.clone(),
            ..ThinJailSpec::default()
        }
        .build()
    }
}
