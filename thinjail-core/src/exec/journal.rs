//! The undo journal: one JSON object per line, each appended and `fsync`ed before the caller
//! moves on.
//!
//! ```text
//! {"rec":"open","label":"jail-create-dev","pid":4242,"boot":{"boottime_us":1765139400000000,"uptime_us":8120000}}
//! {"rec":"done","seq":1,"effect":{"effect":"dataset_created","name":"zdata/jails/dev"}}
//! {"rec":"done","seq":2,"effect":{"effect":"dir_created","path":"/zdata/jails/dev/dev"}}
//! {"rec":"undone","seq":2}
//! {"rec":"closed","outcome":"rolled_back"}
//! ```
//!
//! A torn last line (a crash in the middle of a write) is ignored when reading: the effect it
//! would have recorded is the one whose step had not been confirmed yet.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::host::BootStamp;

use super::Op;
use super::effect::Effect;

/// How a journal was closed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// All steps completed; the effects stay.
    Committed,
    /// All completed effects were undone.
    RolledBack,
}

/// One journal line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "rec", rename_all = "snake_case")]
pub enum Record {
    /// First line.
    Open {
        /// What the operation is (`jail-create-dev`).
        label: String,
        /// Process that wrote it.
        pid: u32,
        /// The boot it was written in (absent in journals written before boots were
        /// recorded: recovery then treats it as this boot's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        boot: Option<BootStamp>,
    },
    /// An effect completed.
    Done {
        /// 1-based sequence number.
        seq: u64,
        /// The effect.
        effect: Effect,
    },
    /// About to make a change whose object is named in advance (written before the system
    /// call). Until `Done` or `Failed` follows, recovery treats it as possibly done; every
    /// undo tolerates "already gone".
    Intent {
        /// 1-based sequence number (shared with its `Done`/`Failed`).
        seq: u64,
        /// The effect it will have.
        effect: Effect,
    },
    /// The change announced by `Intent seq` did not happen (the call failed).
    Failed {
        /// Sequence number of the `Intent`.
        seq: u64,
    },
    /// A roll-forward plan (teardown): recovery resumes it instead of undoing.
    Forward {
        /// The whole plan.
        steps: Vec<Op>,
    },
    /// Roll-forward step `index` (0-based) completed.
    StepDone {
        /// Index into the `Forward` plan.
        index: usize,
    },
    /// The effect `seq` was undone.
    Undone {
        /// Sequence number of the `Done` record.
        seq: u64,
    },
    /// Last line.
    Closed {
        /// How.
        outcome: Outcome,
    },
}

/// Journal I/O failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Another transaction (in this or another process) has the journal open: it is live, not
    /// crashed.
    #[error("journal {}: in use by a running operation", path.display())]
    InUse {
        /// Journal file.
        path: PathBuf,
    },
    /// Reading, writing or syncing failed.
    #[error("journal {}: {source}", path.display())]
    Io {
        /// Journal file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A line (other than a torn last line) is not a record.
    #[error("journal {}: line {line}: {msg}", path.display())]
    Corrupt {
        /// Journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message.
        msg: String,
    },
}

/// An open journal file, appended to with `fsync` after every record.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Create a new journal (fails if the file exists) and write its `Open` record, with the
    /// boot it is written in; the file and its directory entry are synced.
    pub fn create(
        path: &Path,
        label: &str,
        boot: Option<BootStamp>,
    ) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        // Held while this journal is open: recovery skips live journals.
        lock_live(path, &file, std::time::Duration::ZERO)?;
        let mut j = Journal {
            path: path.to_path_buf(),
            file,
        };
        j.append(&Record::Open {
            label: label.to_string(),
            pid: std::process::id(),
            boot,
        })?;
        if let Some(dir) = path.parent() {
            // The new directory entry must survive a crash too.
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(j)
    }

    /// Open an existing journal for appending (recovery).
    pub fn open_append(path: &Path) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        lock_live(path, &file, std::time::Duration::from_secs(1))?;
        // Cut a torn last line (a crash mid-write) so new records start on a line of their own.
        let bytes = std::fs::read(path).map_err(io)?;
        let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if keep != bytes.len() {
            file.set_len(keep as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record and `fsync` it.
    pub fn append(&mut self, rec: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(rec).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            line: 0,
            msg: e.to_string(),
        })?;
        line.push('\n');
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    /// Read all records. A last line that does not parse (torn write) is dropped.
    pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let f = File::open(path).map_err(io)?;
        let lines: Vec<String> = BufReader::new(f)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(io)?;
        let mut out = Vec::with_capacity(lines.len());
        let n = lines.len();
        for (i, l) in lines.iter().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(l) {
                Ok(r) => out.push(r),
                Err(_) if i + 1 == n => break,
                Err(e) => {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        line: i + 1,
                        msg: e.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Take the journal's `flock`; `InUse` if a live transaction still holds it after `patience`
/// (retrying covers the moment a forking process's child still shares the descriptor, before
/// its `exec` closes it).
fn lock_live(path: &Path, file: &File, patience: std::time::Duration) -> Result<(), JournalError> {
    let start = std::time::Instant::now();
    loop {
        match super::lock::flock(file, super::lock::LockMode::Exclusive, false) {
            Ok(true) => return Ok(()),
            Ok(false) if start.elapsed() < patience => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Ok(false) => {
                return Err(JournalError::InUse {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(JournalError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// What a journal says: the effects done and not undone (in order), and whether it is closed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct JournalState {
    /// Label of the `Open` record.
    pub label: Option<String>,
    /// The boot the journal was written in, if it says.
    pub boot: Option<BootStamp>,
    /// `(seq, effect)` done (or announced and not known to have failed) and not undone, in
    /// order.
    pub pending: Vec<(u64, Effect)>,
    /// The outcome, if closed.
    pub closed: Option<Outcome>,
    /// The roll-forward plan, if this is a teardown journal.
    pub forward: Option<Vec<Op>>,
    /// Roll-forward steps completed (the next one to run).
    pub steps_done: usize,
    /// Highest sequence number used.
    pub max_seq: u64,
}

impl JournalState {
    /// Fold records into a state.
    pub fn from_records(recs: &[Record]) -> JournalState {
        let mut st = JournalState {
            label: None,
            boot: None,
            pending: Vec::new(),
            closed: None,
            forward: None,
            steps_done: 0,
            max_seq: 0,
        };
        for r in recs {
            match r {
                Record::Open { label, boot, .. } => {
                    st.label = Some(label.clone());
                    st.boot = *boot;
                }
                Record::Intent { seq, effect } => st.pending.push((*seq, effect.clone())),
                Record::Done { seq, effect } => match st.pending.iter_mut().find(|(s, _)| s == seq)
                {
                    Some(slot) => slot.1 = effect.clone(),
                    None => st.pending.push((*seq, effect.clone())),
                },
                Record::Failed { seq } => st.pending.retain(|(s, _)| s != seq),
                Record::Undone { seq } => st.pending.retain(|(s, _)| s != seq),
                Record::Closed { outcome } => st.closed = Some(*outcome),
                Record::Forward { steps } => st.forward = Some(steps.clone()),
                Record::StepDone { index } => st.steps_done = st.steps_done.max(index + 1),
            }
            if let Record::Intent { seq, .. } | Record::Done { seq, .. } = r {
                st.max_seq = st.max_seq.max(*seq);
            }
        }
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut j = Journal::create(&p, "t", None).unwrap();
        j.append(&Record::Done {
            seq: 1,
            effect: Effect::DirCreated { path: "/a".into() },
        })
        .unwrap();
        j.append(&Record::Done {
            seq: 2,
            effect: Effect::IfCreated {
                name: "epair0a".into(),
            },
        })
        .unwrap();
        j.append(&Record::Undone { seq: 2 }).unwrap();
        drop(j);
        // A torn write at the end.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"rec\":\"done\",\"seq\":3,\"eff").unwrap();
        let recs = Journal::read(&p).unwrap();
        assert_eq!(recs.len(), 4);
        let st = JournalState::from_records(&recs);
        assert_eq!(st.label.as_deref(), Some("t"));
        assert_eq!(
            st.pending,
            vec![(1, Effect::DirCreated { path: "/a".into() })]
        );
        assert_eq!(st.closed, None);
    }

    #[test]
    fn the_boot_is_recorded_and_old_journals_read_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let boot = BootStamp {
            boottime_us: 1_765_139_400_000_000,
            uptime_us: 8_120_000,
        };
        drop(Journal::create(&p, "t", Some(boot)).unwrap());
        let st = JournalState::from_records(&Journal::read(&p).unwrap());
        assert_eq!(st.boot, Some(boot));
        let old = dir.path().join("old");
        std::fs::write(&old, "{\"rec\":\"open\",\"label\":\"t\",\"pid\":7}\n").unwrap();
        let st = JournalState::from_records(&Journal::read(&old).unwrap());
        assert_eq!((st.label.as_deref(), st.boot), (Some("t"), None));
    }

    #[test]
    fn intents_count_until_failed() {
        let recs = vec![
            Record::Open {
                label: "x".into(),
                pid: 1,
                boot: None,
            },
            Record::Intent {
                seq: 1,
                effect: Effect::JailCreated {
                    jid: None,
                    name: "a".into(),
                },
            },
            Record::Done {
                seq: 1,
                effect: Effect::JailCreated {
                    jid: Some(3),
                    name: "a".into(),
                },
            },
            Record::Intent {
                seq: 2,
                effect: Effect::DirCreated { path: "/x".into() },
            },
            Record::Failed { seq: 2 },
            Record::Intent {
                seq: 3,
                effect: Effect::DirCreated { path: "/y".into() },
            },
        ];
        let st = JournalState::from_records(&recs);
        assert_eq!(
            st.pending,
            vec![
                (
                    1,
                    Effect::JailCreated {
                        jid: Some(3),
                        name: "a".into()
                    }
                ),
                (3, Effect::DirCreated { path: "/y".into() }),
            ]
        );
    }

    #[test]
    fn corrupt_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        std::fs::write(&p, "{\"rec\":\"open\",\"label\":\"x\",\"pid\":1}\ngarbage\n{\"rec\":\"undone\",\"seq\":1}\n").unwrap();
        match Journal::read(&p) {
            Err(JournalError::Corrupt { line: 2, .. }) => {}
            other => panic!("expected corrupt line 2, got {other:?}"),
        }
    }

    #[test]
    fn appending_after_a_torn_tail_starts_a_clean_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut j = Journal::create(&p, "t", None).unwrap();
        j.append(&Record::Done {
            seq: 1,
            effect: Effect::DirCreated { path: "/a".into() },
        })
        .unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"rec\":\"done\",\"se").unwrap();
        let mut j = Journal::open_append(&p).unwrap();
        j.append(&Record::Undone { seq: 1 }).unwrap();
        let recs = Journal::read(&p).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2], Record::Undone { seq: 1 });
    }

    #[test]
    fn a_live_journal_cannot_be_opened_for_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let live = Journal::create(&p, "t", None).unwrap();
        assert!(matches!(
            Journal::open_append(&p),
            Err(JournalError::InUse { .. })
        ));
        drop(live); // the process "died"
        Journal::open_append(&p).unwrap();
    }

    #[test]
    fn create_refuses_existing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        Journal::create(&p, "a", None).unwrap();
        assert!(matches!(
            Journal::create(&p, "b", None),
            Err(JournalError::Io { .. })
        ));
    }
}
