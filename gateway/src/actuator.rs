//! What the gateway does with the connection decision: run a command (a relay script), or
//! just log it.

use std::process::Command;

use anyhow::{bail, Context as _};

pub enum Actuator {
    /// Prints the decision.
    Log,
    /// Runs `sh -c CMD connect` or `sh -c CMD disconnect`, with `DEU_CONNECTED=1|0`.
    Command(String),
}

impl Actuator {
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        match spec.split_once(':') {
            None if spec == "log" => Ok(Actuator::Log),
            Some(("command", cmd)) if !cmd.is_empty() => Ok(Actuator::Command(cmd.to_string())),
            _ => bail!("--actuator must be log or command:CMD (got '{spec}')"),
        }
    }

    pub fn apply(&self, meter: &str, connected: bool) -> anyhow::Result<()> {
        let verb = if connected { "connect" } else { "disconnect" };
        match self {
            Actuator::Log => {
                tracing::info!(target: "deu", "gateway {meter}: relay -> {verb}");
                Ok(())
            }
            Actuator::Command(cmd) => {
                let status = Command::new("sh")
                    .args(["-c", &format!("{cmd} {verb}")])
                    .env("DEU_CONNECTED", if connected { "1" } else { "0" })
                    .env("DEU_METER", meter)
                    .status()
                    .with_context(|| format!("running the actuator `{cmd}`"))?;
                if !status.success() {
                    bail!("the actuator `{cmd} {verb}` failed with {status}");
                }
                Ok(())
            }
        }
    }
}
