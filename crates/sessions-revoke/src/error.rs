//! The engine's error type.

use std::path::PathBuf;

use sessions_client::Error as ClientError;

/// Why planning or a run could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The selection (or a rate, or a users file) is not usable; nothing was sent.
    #[error("{0}")]
    Selection(String),
    /// A call failed in a way no retry or skip can fix (bad token, missing scope, not an admin,
    /// server unreachable, an answer lost). During a run the journal keeps what was done, so
    /// the run can be resumed.
    #[error("{during}: {source}")]
    Api {
        /// What the engine was doing (`resolving users`, `listing sessions`, `running`).
        during: &'static str,
        /// The client's error (boxed: it is large, and errors travel far).
        #[source]
        source: Box<ClientError>,
    },
    /// Stopped by the cancellation token before the work was done.
    #[error("cancelled")]
    Cancelled,
    /// Another run holds the journal (an OS lock on the file).
    #[error("journal {} is in use by another run", path.display())]
    JournalLocked {
        /// The journal.
        path: PathBuf,
    },
    /// The journal is not one of ours, is damaged, or does not match this resume.
    #[error("journal {}: {message}", path.display())]
    Journal {
        /// The journal.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn api(during: &'static str) -> impl FnOnce(ClientError) -> Error {
        move |source| Error::Api {
            during,
            source: Box::new(source),
        }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
