//! A container's state and health as `docker compose ps` reports them, parsed
//! once into types so that no caller compares the engine's words.

use std::fmt;

/// A container's lifecycle state (Docker's `State`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Restarting,
    Running,
    Removing,
    Paused,
    Exited,
    Dead,
    /// A word this version does not know, kept as the engine wrote it.
    Other(String),
}

impl ContainerState {
    pub fn parse(word: &str) -> ContainerState {
        match word {
            "created" => ContainerState::Created,
            "restarting" => ContainerState::Restarting,
            "running" => ContainerState::Running,
            "removing" => ContainerState::Removing,
            "paused" => ContainerState::Paused,
            "exited" => ContainerState::Exited,
            "dead" => ContainerState::Dead,
            other => ContainerState::Other(other.to_string()),
        }
    }

    /// The engine's word for the state.
    pub fn as_str(&self) -> &str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Restarting => "restarting",
            ContainerState::Running => "running",
            ContainerState::Removing => "removing",
            ContainerState::Paused => "paused",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Other(word) => word,
        }
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container's health (Docker's `Health`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// The image or service declares no healthcheck.
    Unchecked,
    Starting,
    Healthy,
    Unhealthy,
    /// A word this version does not know, kept as the engine wrote it.
    Other(String),
}

impl Health {
    pub fn parse(word: &str) -> Health {
        match word {
            "" => Health::Unchecked,
            "starting" => Health::Starting,
            "healthy" => Health::Healthy,
            "unhealthy" => Health::Unhealthy,
            other => Health::Other(other.to_string()),
        }
    }

    /// The engine's word for the health, empty without a healthcheck.
    pub fn as_str(&self) -> &str {
        match self {
            Health::Unchecked => "",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
            Health::Other(word) => word,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_it_was_written() {
        for word in [
            "created",
            "restarting",
            "running",
            "removing",
            "paused",
            "exited",
            "dead",
            "odd",
        ] {
            assert_eq!(ContainerState::parse(word).as_str(), word);
        }
        for word in ["", "starting", "healthy", "unhealthy", "odd"] {
            assert_eq!(Health::parse(word).as_str(), word);
        }
        assert_eq!(ContainerState::parse("running"), ContainerState::Running);
        assert_eq!(Health::parse(""), Health::Unchecked);
    }
}
