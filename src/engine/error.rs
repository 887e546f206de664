//! The engine's errors that a caller acts on by kind: a missing object, a
//! conflict with the current state, a bad argument. Their text is docker's,
//! so the CLI prints and the API sends what a docker user knows, and the
//! API's status code (404, 409, 400, 304) comes from the kind.

/// An error whose kind matters to the caller.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("get {0}: no such volume")]
    NoSuchVolume(String),
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    /// docker cp: nothing at that path inside the container.
    #[error("Could not find the file {0} in container")]
    NoSuchContainerPath(String),
    /// The object exists but its state forbids the action (docker's 409).
    #[error("{0}")]
    Conflict(String),
    /// A bad argument (docker's 400).
    #[error("{0}")]
    Invalid(String),
    /// Nothing to do: already started, already stopped (docker's 304).
    #[error("{0}")]
    NotModified(String),
}

impl EngineError {
    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            EngineError::NoSuchContainer(_)
            | EngineError::NoSuchImage(_)
            | EngineError::NoSuchVolume(_)
            | EngineError::NoSuchExec(_)
            | EngineError::NoSuchNetwork(_)
            | EngineError::NoSuchContainerPath(_) => 404,
            EngineError::Conflict(_) => 409,
            EngineError::Invalid(_) => 400,
            EngineError::NotModified(_) => 304,
        }
    }
}
