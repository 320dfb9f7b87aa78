//! Exit codes: 0 success; 1 the build failed, timed out or was stopped; 2 invalid invocation
//! or input (and a build that cannot be resumed); 3 infrastructure fault (no Docker daemon, a
//! pull that failed, AWS errors).

use crate::engine::EngineError;
use crate::engine::cloud::CloudError;
use crate::engine::local::LocalError;

use super::UsageError;

/// Whether the error is a write to a closed pipe (the reader of our stdout went away, as
/// `head` does): the command stops there and exits 0 without a message, as `cat` and `grep`
/// do when their SIGPIPE is ignored.
#[must_use]
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `err` of `cbdash resume ID` or `cbdash shell ID`. When no container has the id, the
/// engine says the container is gone, which is true only of a build that ran: for an id the
/// run history (`history`, else the default file) does not know either, the error says there
/// is no such build and lists the builds kept now.
pub fn explain_missing_build(
    history: Option<&std::path::Path>,
    err: anyhow::Error,
) -> anyhow::Error {
    let gone = err.chain().find_map(|cause| {
        let local = cause.downcast_ref::<LocalError>().or_else(|| {
            match cause.downcast_ref::<EngineError>() {
                Some(EngineError::Local(e)) => Some(e),
                _ => None,
            }
        });
        match local {
            Some(LocalError::ContainerGone { build_id, kept }) => Some((build_id, kept)),
            _ => None,
        }
    });
    let Some((build_id, kept)) = gone else {
        return err;
    };
    let ran = history
        .map(std::path::Path::to_path_buf)
        .or_else(|| crate::history::Store::default_path().ok())
        .filter(|p| p.exists())
        .and_then(|p| crate::history::Store::open(&p).ok())
        .and_then(|store| store.run(build_id).ok().flatten())
        .is_some();
    if ran {
        return err;
    }
    let listing = if kept.is_empty() {
        "no build is kept now (`cbdash run --keep` keeps the next one)".to_owned()
    } else {
        format!("the builds kept now: {}", kept.join(", "))
    };
    UsageError(format!(
        "no build '{build_id}': no container and no recorded run has that id; {listing}"
    ))
    .into()
}

/// The exit code for an error: walks the whole cause chain for a typed error that says.
#[must_use]
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<LocalError>() {
            return local(e);
        }
        if let Some(EngineError::Local(e)) = cause.downcast_ref() {
            return local(e);
        }
        if let Some(e) = cause.downcast_ref::<CloudError>() {
            return cloud(e);
        }
        if let Some(EngineError::Cloud(e)) = cause.downcast_ref() {
            return cloud(e);
        }
    }
    1
}

/// A kept build that cannot be resumed as asked, an invalid buildspec, or a CodeBuild image
/// name that cannot run locally is bad input (2); every other local error is the
/// infrastructure's (3).
const fn local(e: &LocalError) -> u8 {
    match e {
        LocalError::ContainerGone { .. }
        | LocalError::NotResumable(_)
        | LocalError::InvalidBuildspec(_)
        | LocalError::Image(_) => 2,
        _ => 3,
    }
}

/// A cloud error: 2 when the input was wrong, else 3.
#[must_use]
pub const fn cloud(e: &CloudError) -> u8 {
    match e {
        CloudError::InvalidInput(_) | CloudError::NotFound { .. } => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_errors_with_their_sources_keep_their_exit_codes() {
        let io = std::io::Error::other("boom");
        let fault = anyhow::Error::from(EngineError::from(LocalError::container("x", io)))
            .context("running the build");
        assert_eq!(exit_code_for(&fault), 3);
        let gone = LocalError::ContainerGone {
            build_id: "p:1".into(),
            kept: Vec::new(),
        };
        assert_eq!(exit_code_for(&anyhow::Error::from(gone)), 2);
    }
}
